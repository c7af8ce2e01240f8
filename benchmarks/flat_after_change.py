"""Reads after a change stay at the cached cost: a root index of 100,000 projects and a project of 10,000 files.

One command: ``uv run python benchmarks/flat_after_change.py`` (``--help`` for the sizes). It fills a SQLite data
directory through the store (tenant ``wide``: one file in each of N projects; tenant ``deep``: M files of one
project, ``deep-lib``; tenant ``small``: 100 projects), starts ``pyregistry serve`` (one worker) and prints the
median latency of:

- cached reads of each page (the median of 50 in a row, and single reads after ``settle`` seconds idle), and
  of the small tenant's root index; ``304`` answers to ``If-None-Match`` for the small and the wide root index
  (the token and version check alone, which must not grow with N);
- the first read after a change made by another process (``pyregistry yank`` in the CLI), once the server's
  page watcher has re-rendered the page (``settle`` seconds later), and a read right after the change, which waits
  for that render when it is still running;
- uploads through the server (a new project to ``wide``, a new version of ``deep-lib``): how long the upload
  takes and the read of the changed page right after the upload answers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from corpus import ROOT, registry_settings
from postgres_reads import serve
from servers import BIN

sys.path.insert(0, str(ROOT))

JSON = "application/vnd.pypi.simple.v1+json"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def fill(home: Path, projects: int, files: int) -> dict[str, str]:
    """Tenants ``wide``, ``deep`` and ``small`` written through the store; return a read token per tenant."""
    from pyregistry_bootstrap.wiring import build_runtime
    from pyregistry_domain.distributions import DistributionKind, ReleaseFile
    from pyregistry_domain.projects import Project, Release

    services = build_runtime(registry_settings(home)).services
    tokens = {}
    for slug, count, versions in (("wide", projects, 1), ("deep", 1, files), ("small", 100, 1)):
        tenant = services.tenants.create_tenant(
            slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=False, actor="b"
        )
        tokens[slug] = services.tokens.issue(tenant_slug=slug, name="reader", scopes=["read"], actor="bench").secret
        tokens[f"{slug}-publish"] = services.tokens.issue(
            tenant_slug=slug, name="publisher", scopes=["publish"], actor="bench"
        ).secret
        started = time.monotonic()
        for number in range(count):
            name = "deep-lib" if slug == "deep" else f"proj{number:06d}"
            project = Project(tenant_id=tenant.id, name=name, normalized_name=name, created_at=NOW)
            for minor in range(versions):
                version = f"1.{minor}"
                filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
                file = ReleaseFile(
                    tenant_id=tenant.id,
                    project_name=name,
                    normalized_name=name,
                    version=version,
                    filename=filename,
                    kind=DistributionKind.WHEEL,
                    sha256=f"{number:032x}{minor:032x}",
                    size=1,
                    blob_key=f"{tenant.id}/{name}/{filename}",
                    uploaded_at=NOW,
                    uploaded_by="bench",
                )
                blob = home / ".pyregistry" / "blobs" / file.blob_key
                blob.parent.mkdir(parents=True, exist_ok=True)
                blob.write_bytes(b"x")
                release = Release(tenant_id=tenant.id, normalized_name=name, version=version, created_at=NOW)
                services.metadata.catalogue.add_release_file(project, release, file)
        print(f"  {slug}: filled in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return tokens


def latency(client: httpx.Client, url: str, token: str, times: int = 1) -> float:
    """Median milliseconds of ``times`` GETs."""
    runs = []
    for _ in range(times):
        started = time.perf_counter()
        response = client.get(url, auth=("__token__", token), headers={"Accept": JSON})
        runs.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(runs)


def revalidation(client: httpx.Client, url: str, token: str, times: int = 50) -> float:
    """Median milliseconds of ``If-None-Match`` requests answered ``304``: the token and version check alone."""
    etag = client.get(url, auth=("__token__", token), headers={"Accept": JSON}).headers["etag"]
    runs = []
    for _ in range(times):
        started = time.perf_counter()
        response = client.get(url, auth=("__token__", token), headers={"Accept": JSON, "If-None-Match": etag})
        runs.append((time.perf_counter() - started) * 1000)
        if response.status_code != 304:
            raise RuntimeError(f"{url} answered {response.status_code} to If-None-Match")
    return statistics.median(runs)


def change(home: Path, port: int, command: str, tenant: str, project: str) -> None:
    """``pyregistry yank`` or ``unyank`` of version 1.0 in the CLI: another process writing the shared database."""
    env = {**os.environ, "BIND_ADDRESS": f"127.0.0.1:{port}", "SUPERADMIN_PASSWORD": "bench-admin-password"}
    env["COOKIE_SECRET"] = "bench-cookie-secret-bench-cookie-secret"
    argv = [str(BIN / "pyregistry"), command, "--tenant", tenant, "--project", project, "--version", "1.0"]
    subprocess.run(argv, cwd=home, env=env, check=True, capture_output=True)


def measure(client: httpx.Client, home: Path, port: int, page: tuple[str, str, str, str], args: Any) -> str:
    """One table line: cached, idle, settled-after-change and right-after-change latencies of one page."""
    label, tenant, url, token = page
    project = "deep-lib" if tenant == "deep" else "proj000001"
    latency(client, url, token)
    cached = latency(client, url, token, 50)
    idle, settled, immediate = [], [], []
    for cycle in range(args.cycles):
        time.sleep(args.settle)
        idle.append(latency(client, url, token))
        change(home, port, "unyank" if cycle % 2 else "yank", tenant, project)
        time.sleep(args.settle)
        settled.append(latency(client, url, token))
    for cycle in range(args.cycles):
        change(home, port, "yank" if cycle % 2 else "unyank", tenant, project)
        immediate.append(latency(client, url, token))
    cells = [f"{cached:.1f} ms"] + [_spread(runs) for runs in (idle, settled, immediate)]
    return f"| {label} | " + " | ".join(cells) + " |"


def _spread(runs: list[float]) -> str:
    """Median and range of ``runs`` (milliseconds)."""
    return f"{statistics.median(runs):.1f} ms [{min(runs):.1f}-{max(runs):.1f}]"


def after_uploads(client: httpx.Client, base: str, tokens: dict[str, str], args: Any) -> list[str]:
    """Table lines: each page read right after an upload through the server changed it, and the upload's time."""
    from tests.support.dists import build_wheel
    from tests.support.raw_upload import form_upload

    work = Path(tempfile.mkdtemp(prefix="pyr-flat-uploads-"))
    run = int(time.time())
    lines = []
    for label, tenant, project in (
        ("root index, new project", "wide", None),
        ("project page, new version", "deep", "deep-lib"),
    ):
        url = f"{base}/{tenant}/simple/" if project is None else f"{base}/{tenant}/simple/{project}/"
        uploads, reads = [], []
        for cycle in range(args.cycles):
            name = project or f"fresh-{run}-{cycle}"
            version = f"9.{run}.{cycle}" if project else "1.0"
            wheel = build_wheel(work / f"{tenant}-{cycle}", name, version)
            latency(client, url, tokens[tenant])
            started = time.perf_counter()
            answer = form_upload(f"{base}/{tenant}/legacy/", tokens[f"{tenant}-publish"], wheel, name, version)
            uploads.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            reads.append(latency(client, url, tokens[tenant]))
        lines.append(f"| {label} | {_spread(uploads)} | {_spread(reads)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds between a change and the timed read")
    parser.add_argument("--cycles", type=int, default=5, help="changes timed per page (medians are printed)")
    parser.add_argument("--home", type=Path, help="reuse the data directory a previous run filled (and its tokens)")
    parser.add_argument("--baseline", type=Path, help="serve another checkout's sources (same venv) instead")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="pyr-flat-"))
    if args.home is None:
        print(f"filling {home} ...", file=sys.stderr)
        (home / "tokens.json").write_text(json.dumps(fill(home, args.projects, args.files)))
    tokens = json.loads((home / "tokens.json").read_text())
    server = serve(home, None, args.baseline)
    base = f"http://127.0.0.1:{server.port}/t"
    pages = [
        (f"root index, {args.projects:,} projects", "wide", f"{base}/wide/simple/", tokens["wide"]),
        (f"project page, {args.files:,} files", "deep", f"{base}/deep/simple/deep-lib/", tokens["deep"]),
    ]
    lines = [
        "| page | cached (median of 50) | cached, read after idle | first read after a change, settled "
        "| read right after a change |",
        "|---|---|---|---|---|",
    ]
    uploads = [
        "| upload through the server | upload (median [range]) | read right after the upload answered |",
        "|---|---|---|",
    ]
    try:
        with httpx.Client(timeout=120) as client:
            latency(client, f"{base}/small/simple/", tokens["small"], 3)
            small = latency(client, f"{base}/small/simple/", tokens["small"], 50)
            checks = [revalidation(client, f"{base}/{slug}/simple/", tokens[slug]) for slug in ("small", "wide")]
            lines += [measure(client, home, server.port, page, args) for page in pages]
            if "wide-publish" in tokens:
                uploads += after_uploads(client, base, tokens, args)
    finally:
        server.stop()
    load = os.getloadavg()[0]
    header = (
        f"Cached root index of 100 projects: {small:.1f} ms; root index answered 304 (token and version check "
        f"only): {checks[0]:.1f} ms at 100 projects, {checks[1]:.1f} ms at {args.projects:,}; "
        f"load average {load:.1f} (shared machine)"
    )
    print(f"\n{header}\n\n" + "\n".join(lines) + "\n\n" + "\n".join(uploads))


if __name__ == "__main__":
    main()
