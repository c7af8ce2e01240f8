"""Issue 14 item 11: a file whose blob is gone from storage is a 404 that names neither the tenant id nor the blob
key; the server log does."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.raw_upload import form_upload
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e

MESSAGE = "the file is missing from storage (the server log names the missing blob)"


def test_missing_blob_404_keeps_internal_keys_out_of_the_answer(registry: RunningRegistry, tmp_path: Path) -> None:
    registry.create_tenant("lost")
    upload = registry.issue_token("lost", "publish", name="ci")
    read = registry.issue_token("lost", "read", name="reader")
    wheel = build_wheel(tmp_path, "lost-pkg", "1.0.0")
    assert form_upload(registry.upload_url("lost"), upload, wheel, "lost-pkg", "1.0.0").status_code == 200
    blobs = registry.workdir / ".pyregistry" / "blobs"
    blob = next(blobs.rglob(wheel.name))
    key = blob.relative_to(blobs).as_posix()
    tenant_id = key.split("/")[0]
    blob.unlink()
    Path(f"{blob}.metadata").unlink()

    base = f"{registry.base_url}/t/lost/files/lost-pkg/1.0.0/{wheel.name}"
    for url in (base, f"{base}.metadata"):
        response = httpx.get(url, auth=("__token__", read), timeout=10)
        assert (response.status_code, response.text.strip()) == (404, f"404 {MESSAGE}")
        assert tenant_id not in response.text

    log = registry.log_path.read_text()
    for missing in (key, f"{key}.metadata"):
        assert re.search(rf"storage\.blob_missing\s+key={re.escape(missing)} ", log), missing
