"""Security end to end: webhooks to a real loopback receiver, the OSV API, check-registry with pysentry offline,
the package-page JSON endpoints, validate-dist-all over stored blobs and audit-wheel from the CLI."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, upload_file
from tests.support.advisories import write_small_advisory_db
from tests.support.dists import build_wheel
from tests.support.malicious import bad_wheels, clean_wheel
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, pyregistry_exe, start_registry
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

PUBLISH_HOOK = "/publish"
VULN_HOOK = "/vulns"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(stall_seconds=4).start()
    yield hook
    hook.stop()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[RunningRegistry]:
    advisory_db = write_small_advisory_db(tmp_path_factory.mktemp("advisories"))
    server = start_registry(
        tmp_path_factory.mktemp("secured"),
        {
            "ADVISORY_DB_PATH": str(advisory_db),
            "PACKAGE_PUBLISH_WEBHOOK_URL": receiver.url + PUBLISH_HOOK,
            "PACKAGE_PUBLISH_WEBHOOK_TIMEOUT_SECONDS": "1",
            "VULNERABILITY_WEBHOOK_URL": receiver.url + VULN_HOOK,
        },
    )
    try:
        yield server
    finally:
        server.stop()


def twine_upload(registry: RunningRegistry, token: str, *files: Path) -> subprocess.CompletedProcess[str]:
    args = [str(BIN_DIR / "twine"), "upload", "--non-interactive", "--disable-progress-bar"]
    args += ["--repository-url", registry.upload_url("acme"), "-u", "__token__", "-p", token, *map(str, files)]
    return subprocess.run(args, capture_output=True, text=True, timeout=180, env=clean_client_env())


@pytest.fixture(scope="module")
def published(secured: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    secured.create_tenant("acme")
    dist = tmp_path_factory.mktemp("dist")
    publish = secured.issue_token("acme", "publish", name="ci")
    bad = bad_wheels(dist / "bad")
    files = [
        build_wheel(dist, "vulnpkg", "1.0.0"),
        build_wheel(dist, "vulnpkg", "1.3.0"),
        bad["PY-SHELL-NETWORK"],
        clean_wheel(dist / "clean"),
    ]
    result = twine_upload(secured, publish, *files)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"files": files, "publish": publish, "read": secured.issue_token("acme", "read", name="reader")}


def test_publish_webhook_gets_new_packages_and_versions(
    secured: RunningRegistry, published: dict[str, object], receiver: WebhookReceiver
) -> None:
    titles = receiver.wait_for(PUBLISH_HOOK, 4)
    assert titles[:4] == [
        "New package: vulnpkg 1.0.0",
        "New version: vulnpkg 1.3.0",
        "New package: shell-hook 1.0.0",
        "New package: tidy-greeter 1.0.0",
    ]
    body = next(m["json"] for m in receiver.received if m["path"] == PUBLISH_HOOK)
    assert body["username"] == "Pyregistry"
    assert body["content"].startswith("**New package: vulnpkg 1.0.0**")
    fields = {f["name"]: f["value"] for f in body["embeds"][0]["fields"]}
    assert fields["tenant"] == "acme" and fields["version"] == "1.0.0" and len(fields["sha256"]) == 64


def test_failing_or_slow_webhook_never_fails_the_upload(
    secured: RunningRegistry, published: dict[str, object], receiver: WebhookReceiver, tmp_path: Path
) -> None:
    failing = build_wheel(tmp_path, "fail-hook", "1.0.0")
    slow = build_wheel(tmp_path, "slow-hook", "1.0.0")
    started = time.monotonic()
    result = twine_upload(secured, str(published["publish"]), failing, slow)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed < 30
    simple = httpx.get(
        f"{secured.base_url}/t/acme/simple/slow-hook/",
        auth=("__token__", str(published["read"])),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    assert simple.status_code == 200
    assert [f["filename"] for f in simple.json()["files"]] == ["slow_hook-1.0.0-py3-none-any.whl"]
    log = wait_for_log(secured, "webhook refused", "webhook delivery failed")
    assert "Traceback" not in log


def wait_for_log(registry: RunningRegistry, *needles: str, timeout: float = 15) -> str:
    """The server log once it holds every needle (webhooks are delivered after the upload has answered)."""
    deadline = time.monotonic() + timeout
    log = ""
    while time.monotonic() < deadline:
        log = registry.log_path.read_text(errors="replace")
        if all(needle in log for needle in needles):
            return log
        time.sleep(0.05)
    raise AssertionError(f"the server log never mentioned all of {needles}")


def test_a_hanging_webhook_neither_delays_the_upload_nor_outlives_its_deadline(
    secured: RunningRegistry, published: dict[str, object], receiver: WebhookReceiver, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path, "hang-hook", "1.0.0")
    started = time.monotonic()
    upload_file(secured, "acme", str(published["publish"]), wheel, "hang-hook", "1.0.0")
    answered = time.monotonic() - started
    assert answered < 3, f"the upload waited {answered:.1f} s for the webhook"
    title = "title='New package: hang-hook 1.0.0'"
    log = wait_for_log(secured, title, timeout=8)
    failure = next(line for line in log.splitlines() if title in line)
    assert "webhook delivery failed" in failure and "no complete answer within 1 s" in failure
    gave_up = time.monotonic() - started
    assert gave_up < 8, "the receiver trickles its answer for 20 s: only the overall deadline stops the delivery"
    assert "New package: hang-hook 1.0.0" in receiver.titles(PUBLISH_HOOK)


def test_osv_api_serves_the_local_advisory_database(secured: RunningRegistry) -> None:
    base = f"{secured.base_url}/_/osv/v1"
    query = httpx.post(f"{base}/query", json={"package": {"name": "vulnpkg", "ecosystem": "PyPI"}, "version": "1.0.0"})
    assert query.status_code == 200
    assert [v["id"] for v in query.json()["vulns"]] == ["PYSEC-2099-1"]
    clean = httpx.post(f"{base}/query", json={"package": {"name": "vulnpkg", "ecosystem": "PyPI"}, "version": "1.3.0"})
    assert clean.json() == {}
    batch = httpx.post(
        f"{base}/querybatch",
        json={
            "queries": [
                {"package": {"name": "vulnpkg", "ecosystem": "PyPI"}, "version": "1.5.1"},
                {"package": {"purl": "pkg:pypi/vulnpkg"}, "version": "0.1"},
                {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "1.0"},
            ]
        },
    )
    assert batch.json()["results"] == [
        {"vulns": [{"id": "PYSEC-2099-2", "modified": "2099-02-01T00:00:00Z"}]},
        {"vulns": [{"id": "PYSEC-2099-1", "modified": "2099-01-02T00:00:00Z"}]},
        {},
    ]
    record = httpx.get(f"{base}/vulns/CVE-2099-0001")
    assert record.status_code == 200 and record.json()["id"] == "PYSEC-2099-1"
    assert httpx.get(f"{base}/vulns/PYSEC-0000-0").status_code == 404
    assert httpx.post(f"{base}/query", json={"package": {"name": "x", "ecosystem": "npm"}}).status_code == 400
    assert httpx.post(f"{base}/query", content=b"{not json").status_code == 400


def test_release_vulnerability_summary_endpoint(secured: RunningRegistry, published: dict[str, object]) -> None:
    url = f"{secured.base_url}/_/security/t/acme/projects/VulnPkg/vulnerabilities"
    assert httpx.get(url).status_code == 401
    answer = httpx.get(url, auth=("__token__", str(published["read"])))
    assert answer.status_code == 200, answer.text
    releases = {r["version"]: r for r in answer.json()["releases"]}
    assert releases["1.3.0"]["advisories"] == []
    assert [a["id"] for a in releases["1.0.0"]["advisories"]] == ["PYSEC-2099-1"]
    assert releases["1.0.0"]["fixed_versions"] == ["1.2.0"]
    missing = httpx.get(url.replace("VulnPkg", "nothing-here"), auth=("__token__", str(published["read"])))
    assert missing.status_code == 404


def test_wheel_scan_endpoint(secured: RunningRegistry, published: dict[str, object]) -> None:
    url = f"{secured.base_url}/_/security/t/acme/projects/shell-hook/files/shell_hook-1.0.0-py3-none-any.whl/scan"
    answer = httpx.post(url, auth=("__token__", str(published["read"])), timeout=120)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["filename"] == "shell_hook-1.0.0-py3-none-any.whl"
    assert {"PY-SHELL-NETWORK", "yara/pyregistry_download_and_pipe_to_shell"} <= {
        f["rule_id"] for f in report["findings"]
    }
    wrong = httpx.post(url.replace("shell-hook", "vulnpkg"), auth=("__token__", str(published["read"])))
    assert wrong.status_code == 404


def test_check_registry_with_pysentry_offline_and_vulnerability_webhook(
    secured: RunningRegistry, published: dict[str, object], receiver: WebhookReceiver
) -> None:
    result = secured.cli("check-registry", "--json", check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["source"] == "pysentry"
    assert report["checked"] >= 5
    assert [(v["project"], v["version"], v["advisory_id"]) for v in report["vulnerabilities"]] == [
        ("vulnpkg", "1.0.0", "PYSEC-2099-1")
    ]
    assert "1.2.0" in report["vulnerabilities"][0]["fixed_versions"]
    titles = receiver.wait_for(VULN_HOOK, 1)
    assert titles == ["Vulnerable package: vulnpkg in tenant acme"]
    local = secured.cli("check-registry", "--engine", "local", "--tenant", "acme", check=False)
    assert local.returncode == 2
    assert "acme/vulnpkg 1.0.0: PYSEC-2099-1 (fixed in 1.2.0)" in local.stdout
    unknown = secured.cli("check-registry", "--tenant", "nope", check=False)
    assert unknown.returncode == 1 and "not found" in unknown.stderr


def test_audit_wheel_cli_local_and_upstream(
    secured: RunningRegistry, published: dict[str, object], tmp_path: Path
) -> None:
    files = published["files"]
    assert isinstance(files, list)
    bad = secured.cli("audit-wheel", "--project", "shell-hook", "--wheel", str(files[2]), check=False)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "[CRITICAL] PY-SHELL-NETWORK shell_hook/__init__.py:3" in bad.stdout
    clean = secured.cli("audit-wheel", "--project", "tidy-greeter", "--wheel", str(files[3]), "--json", check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert json.loads(clean.stdout)["findings"] == []
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "canary.yar").write_text(
        'rule greeting_canary { meta: severity = "low" strings: $a = "hello {name}" condition: $a }\n'
    )
    custom = secured.cli(
        "audit-wheel", "--project", "tidy-greeter", "--wheel", str(files[3]), "--yara-rules-path", str(rules), "--json",
        check=False,
    )  # fmt: skip
    assert custom.returncode == 0, "a low finding stays below the default fail severity (high)"
    findings = json.loads(custom.stdout)["findings"]
    assert [(f["rule_id"], f["severity"], f["file"]) for f in findings] == [
        ("yara/greeting_canary", "low", "tidy_greeter/__init__.py")
    ]
    upstream = f"http://__token__:{published['read']}@127.0.0.1:{secured.port}/t/acme/"
    env = {**secured.env, "PYPI_BASE_URL": upstream}
    fetched = subprocess.run(
        [pyregistry_exe(), "audit-wheel", "--project", "shell-hook", "--wheel", "shell_hook-1.0.0-py3-none-any.whl"],
        cwd=secured.workdir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert fetched.returncode == 2, fetched.stdout + fetched.stderr
    assert "PY-SHELL-NETWORK" in fetched.stdout
    absent = subprocess.run(
        [pyregistry_exe(), "audit-wheel", "--project", "shell-hook", "--wheel", "shell_hook-9.9-py3-none-any.whl"],
        cwd=secured.workdir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert absent.returncode == 1 and "Traceback" not in absent.stderr
    assert absent.stderr.strip().splitlines()[-1].startswith("error: 'shell_hook-9.9-py3-none-any.whl' is not a file")
    assert str(published["read"]) not in fetched.stderr + absent.stderr, "credentials must not be logged"


def test_audit_wheel_fails_when_a_scanner_cannot_run(
    secured: RunningRegistry, published: dict[str, object], tmp_path: Path
) -> None:
    files = published["files"]
    assert isinstance(files, list)
    missing = tmp_path / "no-foxguard-here"
    env = {**secured.env, "FOXGUARD_PATH": str(missing)}

    def audit(wheel: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        args = [pyregistry_exe(), "audit-wheel", "--project", "p", "--wheel", str(wheel), *extra]
        return subprocess.run(args, cwd=secured.workdir, env=env, capture_output=True, text=True, timeout=120)

    clean = audit(files[3])
    assert clean.returncode == 3, clean.stdout + clean.stderr
    assert f"scanner foxguard failed, the audit is incomplete: the foxguard executable {missing} does not exist" in (
        clean.stderr
    )
    assert "error: scanner foxguard failed; pass --allow-scanner-errors" in clean.stderr
    assert "Traceback" not in clean.stderr
    as_json = audit(files[3], "--json")
    assert as_json.returncode == 3
    assert list(json.loads(as_json.stdout)["scanner_errors"]) == ["foxguard"]
    assert audit(files[3], "--allow-scanner-errors").returncode == 0
    bad = audit(files[2])
    assert bad.returncode == 2, "findings at the fail severity win over scanner errors"
    assert "scanner foxguard failed" in bad.stderr


def test_wheel_scan_page_shows_failed_scanners_first(tmp_path: Path) -> None:
    registry = start_registry(tmp_path / "server", {"FOXGUARD_PATH": str(tmp_path / "no-foxguard-here")})
    try:
        registry.create_tenant("acme")
        wheel = clean_wheel(tmp_path / "clean")
        upload_file(registry, "acme", registry.issue_token("acme", "publish"), wheel, "tidy-greeter", "1.0.0")
        admin = AdminSession(registry)
        assert admin.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
        page = admin.get(f"/admin/t/acme/packages/tidy-greeter/files/{wheel.name}/scan", timeout=120)
        assert page.status_code == 200, page.text
        html = page.text
        assert html.index('id="scanner-errors"') < html.index('id="scan-summary"')
        assert 'role="alert"' in html and "Incomplete scan: 1 scanner could not run" in html
        assert '<li data-scanner="foxguard"><strong>foxguard</strong>: the foxguard executable' in html
        assert "no findings, but the scan is incomplete" in html
    finally:
        registry.stop()


def test_validate_dist_all_reports_damaged_and_missing_blobs(
    secured: RunningRegistry, published: dict[str, object]
) -> None:
    healthy = secured.cli("validate-dist-all", "--json", "--parallelism", "2", check=False)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    summary = json.loads(healthy.stdout)
    assert summary["checked"] >= 6 and summary["counts"]["ok"] == summary["checked"]
    blobs = secured.workdir / ".pyregistry" / "blobs"
    altered = next(p for p in blobs.rglob("vulnpkg-1.0.0-py3-none-any.whl"))
    altered.write_bytes(altered.read_bytes() + b"tampered")
    removed = next(p for p in blobs.rglob("vulnpkg-1.3.0-py3-none-any.whl"))
    removed.unlink()
    damaged = secured.cli("validate-dist-all", "--tenant", "acme", "--project", "VulnPkg", check=False)
    assert damaged.returncode == 1
    assert "CHECKSUM-MISMATCH" in damaged.stdout and "vulnpkg-1.0.0-py3-none-any.whl" in damaged.stdout
    assert "MISSING" in damaged.stdout and "vulnpkg-1.3.0-py3-none-any.whl" in damaged.stdout
    assert "checked 2 files: 1 missing, 1 checksum-mismatch" in damaged.stdout
