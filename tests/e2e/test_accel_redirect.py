"""Behind nginx, pyregistry authorizes downloads and nginx sends the bytes (``[server] accel_redirect_prefix``)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel, sha256_of
from tests.support.nginx import nginx_available, running_nginx
from tests.support.pip_target import pip_install_into
from tests.support.raw_upload import form_upload
from tests.support.required import require
from tests.support.server import start_registry

pytestmark = pytest.mark.e2e

INTERNAL = "/_blobs/"


def test_nginx_sends_the_files_pyregistry_authorized(tmp_path: Path) -> None:
    require(nginx_available(), "nginx is not installed (Debian: apt-get install nginx-light)")
    registry = start_registry(tmp_path / "srv", {"PYREGISTRY_ACCEL_REDIRECT_PREFIX": INTERNAL})
    try:
        registry.create_tenant("front")
        publish = registry.issue_token("front", "publish", name="ci")
        read = registry.issue_token("front", "read", name="reader")
        small = build_wheel(tmp_path / "small", "accel-small", "1.0")
        payload = os.urandom(3 << 20)
        large = build_wheel(tmp_path / "large", "accel-large", "1.0", extra_files={"blob.bin": payload})
        for wheel, name in ((small, "accel-small"), (large, "accel-large")):
            assert form_upload(registry.upload_url("front"), publish, wheel, name, "1.0").status_code == 200
        blobs = registry.workdir / ".pyregistry" / "blobs"
        with running_nginx(tmp_path, registry.port, INTERNAL, blobs) as front:
            for wheel, name in ((small, "accel-small"), (large, "accel-large")):
                path = f"/t/front/files/{name}/1.0/{wheel.name}"
                direct = httpx.get(registry.base_url + path, auth=("__token__", read), timeout=30)
                key = next(blobs.rglob(wheel.name)).relative_to(blobs).as_posix()
                assert (direct.status_code, direct.content) == (200, b"")
                assert direct.headers["x-accel-redirect"] == INTERNAL + key

                sent = httpx.get(front + path, auth=("__token__", read), timeout=30)
                assert sent.status_code == 200
                assert sent.content == wheel.read_bytes()
                assert "x-accel-redirect" not in sent.headers
                assert {key: sent.headers[key] for key in ("etag", "content-disposition", "content-length")} == {
                    "etag": f'"{sha256_of(wheel)}"',
                    "content-disposition": f'attachment; filename="{wheel.name}"',
                    "content-length": str(wheel.stat().st_size),
                }
                cached = {"if-none-match": sent.headers["etag"]}
                again = httpx.get(front + path, auth=("__token__", read), headers=cached, timeout=30)
                assert (again.status_code, again.content) == (304, b"")
                refused = httpx.get(front + path, timeout=30)
                assert refused.status_code == 401
                assert refused.content != wheel.read_bytes()
                assert httpx.get(front + INTERNAL + key, timeout=30).status_code == 404, "the location is internal"

            installed = pip_install_into(
                tmp_path / "site", f"http://__token__:{read}@{front[len('http://') :]}/t/front/simple/", "accel-large"
            )
            assert installed.returncode == 0, installed.stderr
            assert (tmp_path / "site" / "blob.bin").read_bytes() == payload
    finally:
        registry.stop()
