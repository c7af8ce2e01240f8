"""pyregistry side by side with pypiserver (gunicorn) and devpi-server on one machine, over loopback.

One command: ``uv run python benchmarks/compare_peers.py`` (``--help`` for sizes and durations). It generates
the corpus once (1,000 projects x 20 wheels, 10,000 one-wheel projects, a 100 MB wheel) under
``benchmarks/results/``, loads it into every server, drives each with the same load generator
(``loadgen.py``) at the same concurrency, and prints a table with pyregistry's ratio to each peer.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from corpus import Corpus, build_corpus, bulk_load_pyregistry, tiny_wheel
from loadgen import LoadResult, run_load
from loopback_ceiling import loopback_file_server
from servers import BIN, MemorySampler, Server, free_port, start_server

RESULTS = Path(__file__).resolve().parent / "results"
HTML = "text/html"
JSON = "application/vnd.pypi.simple.v1+json"
HREF = re.compile(r'href="([^"#]+)')


@dataclass
class Target:
    """A loaded server and how to address it."""

    server: Server
    index_path: str
    projects: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    upload_url: str = ""
    upload_auth: tuple[str, str] = ("", "")
    file_paths: list[str] = field(default_factory=list)
    big_path: str = ""
    sampler: MemorySampler | None = None
    metrics: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _client_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "TWINE_"))}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONWARNINGS": "ignore"})
    return env


# starting and loading each server


def start_pyregistry(
    work: Path, corpus: Corpus, wide: bool, extra_env: dict[str, str] | None = None
) -> tuple[Target, Target | None]:
    """pyregistry, 1 uvicorn worker (uvloop + httptools), SQLite + filesystem; bulk-loaded once."""
    home = work / "pyregistry"
    tokens_file = home / "tokens.json"
    if not tokens_file.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        print("loading pyregistry through the upload use case (once) ...", file=sys.stderr)
        started = time.monotonic()
        tenants = {"bench": [*corpus.small_files(), corpus.big_file()], "wide": corpus.wide_files()}
        tokens = bulk_load_pyregistry(home, tenants)
        print(f"  loaded in {time.monotonic() - started:.0f} s", file=sys.stderr)
        tokens_file.write_text(json.dumps(tokens))
    tokens = json.loads(tokens_file.read_text())
    port = free_port()
    env = {
        "BIND_ADDRESS": f"127.0.0.1:{port}",
        "SUPERADMIN_PASSWORD": "bench-admin-password",
        "COOKIE_SECRET": "bench-cookie-secret-bench-cookie-secret",
        "RATE_LIMIT_ENABLED": "false",
        "PYPI_MIRROR_UPDATE_ENABLED": "false",
        "PYREGISTRY_WORKERS": "1",
        **(extra_env or {}),
    }
    server = start_server("pyregistry", [str(BIN / "pyregistry"), "serve"], port, "/healthz", cwd=home, env=env)
    slug = f"up{int(time.time())}p{port}"
    cli = [str(BIN / "pyregistry")]
    subprocess.run(
        [*cli, "create-tenant", "--slug", slug, "--display-name", slug],
        cwd=home,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    upload_token = subprocess.run(
        [*cli, "issue-token", "--tenant", slug, "--name", "twine", "--scope", "publish"],
        cwd=home,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    projects = [f"proj{number:04d}" for number in range(len(corpus.small_files()) // 20)]
    main = Target(
        server=server,
        index_path="/t/bench/simple/",
        projects=projects,
        headers=_basic("__token__", tokens["bench"]),
        upload_url=f"http://127.0.0.1:{port}/t/{slug}/legacy/",
        upload_auth=("__token__", upload_token),
    )
    wide_target = None
    if wide:
        wide_target = Target(
            server=server, index_path="/t/wide/simple/", projects=[], headers=_basic("__token__", tokens["wide"])
        )
    return main, wide_target


def start_pypiserver(work: Path, packages: list[Path], name: str) -> Target:
    """pypiserver 2.x under gunicorn (its default worker settings), anonymous uploads into a fresh folder."""
    uploads = work / f"{name}-uploads"
    shutil.rmtree(uploads, ignore_errors=True)
    uploads.mkdir(parents=True)
    port = free_port()
    command = [
        str(BIN / "pypi-server"),
        "run",
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-a",
        ".",
        "-P",
        ".",
        "--server",
        "gunicorn",
        str(uploads),
        *map(str, packages),
    ]
    server = start_server(name, command, port, "/simple/", cwd=work)
    return Target(
        server=server,
        index_path="/simple/",
        projects=[],
        upload_url=f"http://127.0.0.1:{port}/",
        upload_auth=("any", "any"),
    )


def start_devpi(work: Path, corpus: Corpus, project_count: int) -> Target | None:
    """devpi-server in a throwaway venv (root/dev, no PyPI mirror), loaded with a subset via devpi upload."""
    venv = RESULTS / "vdevpi"
    bin_dir = venv / "bin"
    if not (bin_dir / "devpi-server").exists():
        print("installing devpi-server into a throwaway venv ...", file=sys.stderr)
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
            subprocess.run(
                [str(bin_dir / "python"), "-m", "pip", "install", "-q", "devpi-server", "devpi-client"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"devpi skipped: could not install devpi-server ({exc})", file=sys.stderr)
            return None
    serverdir = work / "devpi-data"
    marker = serverdir / f"loaded-{project_count}.done"
    if not marker.exists():
        shutil.rmtree(serverdir, ignore_errors=True)
        subprocess.run(
            [str(bin_dir / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi", "--root-passwd", "bench"],
            check=True,
            capture_output=True,
        )
    port = free_port()
    command = [str(bin_dir / "devpi-server"), "--serverdir", str(serverdir), "--host", "127.0.0.1", "--port", str(port)]
    server = start_server("devpi", command, port, "/+api", cwd=work)
    url = f"http://127.0.0.1:{port}"
    if not marker.exists():
        print(
            f"loading devpi with {project_count} projects x 20 wheels + the big wheel via devpi upload ...",
            file=sys.stderr,
        )
        staging = work / "devpi-staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        wanted = {f"proj{number:04d}" for number in range(project_count)}
        for path in [*corpus.small_files(), corpus.big_file()]:
            if path.name.split("-")[0] in wanted or path.parent == corpus.big:
                os.link(path, staging / path.name)
        client_dir = work / "devpi-client"
        devpi = [str(bin_dir / "devpi"), "--clientdir", str(client_dir)]
        for step in (
            ["use", url],
            ["login", "root", "--password", "bench"],
            ["index", "-c", "root/dev", "bases="],
            ["use", "root/dev"],
            ["upload", "--from-dir", str(staging)],
        ):
            subprocess.run([*devpi, *step], check=True, capture_output=True, timeout=1800)
        marker.write_text("ok\n")
    return Target(
        server=server,
        index_path="/root/dev/+simple/",
        projects=[f"proj{number:04d}" for number in range(project_count)],
        upload_url=f"{url}/root/dev/",
        upload_auth=("root", "bench"),
    )


# measurements


def discover_files(target: Target, count: int = 50) -> None:
    """Find real download URLs by reading project pages, as pip does (each server has its own URL scheme)."""
    for project in random.sample(target.projects, min(count, len(target.projects))):
        page = f"{target.index_path}{project}/"
        status, body = _get(target.server.port, page, {**target.headers, "Accept": HTML})
        if status != 200:
            raise RuntimeError(f"{target.server.name}: {page} answered {status}")
        links = HREF.findall(body.decode())
        target.file_paths.append(urlsplit(urljoin(f"http://x{page}", links[0])).path)
    big_page = f"{target.index_path}bigproj/"
    status, body = _get(target.server.port, big_page, {**target.headers, "Accept": HTML})
    if status == 200:
        target.big_path = urlsplit(urljoin(f"http://x{big_page}", HREF.findall(body.decode())[0])).path


def record(target: Target, label: str, result: LoadResult) -> None:
    target.metrics[label] = f"{result.rps:,.0f} rps, p50 {result.p50_ms:.1f} / p99 {result.p99_ms:.1f} ms"
    if result.errors:
        target.metrics[label] += f", {result.errors} errors"
    target.numbers[label] = result.rps
    target.numbers[label + " p50"] = result.p50_ms


def load_tests(target: Target, concurrency: int, duration: float) -> None:
    """Root index, project page (HTML and JSON) and small-file downloads at ``concurrency``."""
    port = target.server.port
    pick: Callable[[list[str]], Callable[[], str]] = lambda paths: lambda: random.choice(paths)  # noqa: E731
    pages = [f"{target.index_path}{project}/" for project in target.projects]
    runs = {
        f"root index HTML c={concurrency}": (pick([target.index_path]), HTML),
        f"root index JSON c={concurrency}": (pick([target.index_path]), JSON),
        f"project page HTML c={concurrency}": (pick(pages), HTML),
        f"project page JSON c={concurrency}": (pick(pages), JSON),
        f"small file download c={concurrency}": (pick(target.file_paths), "*/*"),
    }
    for label, (paths, accept) in runs.items():
        record(
            target,
            label,
            run_load(
                port, paths, concurrency=concurrency, duration=duration, headers={**target.headers, "Accept": accept}
            ),
        )


def timed_download(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    """Bytes and seconds for one GET read in 1 MiB chunks, as a Python client (pip's urllib3) reads."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    size = 0
    while chunk := response.read(1024 * 1024):
        size += len(chunk)
    connection.close()
    return size, time.perf_counter() - started


def best_rate(port: int, path: str, headers: dict[str, str], runs: int = 3) -> float:
    """MB/s of the fastest of ``runs`` downloads: the machine is shared, so the best run is the least disturbed."""
    rates = []
    for _ in range(runs):
        size, elapsed = timed_download(port, path, headers)
        rates.append(size / elapsed / 1024 / 1024)
    return max(rates)


def big_download(target: Target, disk_mb_s: float, ceiling_mb_s: float) -> None:
    """Stream the 100 MB wheel (best of three) and watch the server's memory while it does."""
    if not target.big_path:
        return
    with MemorySampler(target.server) as sampler:
        rate = best_rate(target.server.port, target.big_path, target.headers)
    target.metrics["100 MB download"] = (
        f"{rate:,.0f} MB/s ({rate / ceiling_mb_s:.0%} of loopback ceiling, {rate / disk_mb_s:.0%} of disk read), "
        f"RSS +{sampler.growth:.1f} MB"
    )
    target.numbers["100 MB download MB/s"] = rate
    target.numbers["100 MB download RSS growth"] = sampler.growth


def loopback_ceiling(path: Path) -> float:
    """MB/s of a bare socket server sending ``path`` to the same client (see ``loopback_ceiling.py``)."""
    with loopback_file_server(path) as port:
        return best_rate(port, "/", {})


def pip_download(target: Target, work: Path, packages: int) -> None:
    """``pip download --no-deps`` of ``packages`` projects (the newest of 20 versions each), cold cache."""
    names = target.projects[:packages]
    dest = work / f"pip-{target.server.name}"
    shutil.rmtree(dest, ignore_errors=True)
    auth = target.headers.get("Authorization", "")
    credentials = ""
    if auth:
        credentials = base64.b64decode(auth.split()[1]).decode() + "@"
    index = f"http://{credentials}127.0.0.1:{target.server.port}{target.index_path}"
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(BIN / "pip"),
            "download",
            "--no-deps",
            "--no-cache-dir",
            "-q",
            "-d",
            str(dest),
            "--index-url",
            index,
            *names,
        ],
        env=_client_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        target.metrics["pip download"] = "failed: " + result.stderr.strip().splitlines()[-1]
        return
    target.metrics["pip download"] = f"{elapsed:.2f} s for {len(names)} packages"
    target.numbers["pip download s"] = elapsed


def twine_uploads(target: Target, corpus: Corpus, big_upload: Path) -> None:
    """twine upload of 100 small wheels, then of the 100 MB wheel while watching server memory."""
    user, password = target.upload_auth
    twine = [
        str(BIN / "twine"),
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        target.upload_url,
        "-u",
        user,
        "-p",
        password,
    ]
    small = corpus.fresh_files()
    started = time.perf_counter()
    result = subprocess.run([*twine, *map(str, small)], env=_client_env(), capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        target.metrics["twine upload 100 small"] = "failed: " + (result.stdout + result.stderr).strip().splitlines()[-1]
    else:
        target.metrics["twine upload 100 small"] = f"{len(small) / elapsed:.1f} files/s ({elapsed:.1f} s)"
        target.numbers["twine files/s"] = len(small) / elapsed
    with MemorySampler(target.server) as sampler:
        started = time.perf_counter()
        result = subprocess.run(
            [*twine, str(big_upload)], env=_client_env(), capture_output=True, text=True, timeout=900
        )
        elapsed = time.perf_counter() - started
    if result.returncode != 0:
        target.metrics["twine upload 100 MB"] = "failed: " + (result.stdout + result.stderr).strip().splitlines()[-1]
        return
    size_mb = big_upload.stat().st_size / 1024 / 1024
    target.metrics["twine upload 100 MB"] = (
        f"{elapsed:.1f} s ({size_mb / elapsed:.0f} MB/s), RSS +{sampler.growth:.1f} MB"
    )
    target.numbers["100 MB upload RSS growth"] = sampler.growth


def disk_read_speed(path: Path) -> float:
    """MB/s reading the file in 1 MiB chunks (after one warm-up read: the servers read from page cache too)."""
    for _ in range(2):
        started = time.perf_counter()
        with path.open("rb") as handle:
            while handle.read(1024 * 1024):
                pass
        elapsed = time.perf_counter() - started
    return path.stat().st_size / elapsed / 1024 / 1024


# reporting


RATIO_KEYS = [
    "root index HTML c={c}",
    "root index JSON c={c}",
    "project page HTML c={c}",
    "project page JSON c={c}",
    "small file download c={c}",
]


def print_table(targets: list[Target], concurrency: int) -> str:
    labels: list[str] = []
    for target in targets:
        labels += [label for label in target.metrics if label not in labels]
    names = [target.server.name for target in targets]
    lines = ["| measurement | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(target.metrics.get(label, "n/a") for target in targets) + " |")
    ours = targets[0]
    ratios = []
    for peer in targets[1:]:
        if not peer.server.name.startswith(("pypiserver", "devpi")):
            continue
        for key in [key.format(c=concurrency) for key in RATIO_KEYS]:
            if key in ours.numbers and key in peer.numbers and peer.numbers[key]:
                ratios.append(
                    f"- {key}: pyregistry / {peer.server.name} = {ours.numbers[key] / peer.numbers[key]:.1f}x rps"
                )
    text = (
        "\n".join(lines)
        + "\n\nRatios (requests per second, same load generator and concurrency):\n"
        + "\n".join(ratios)
    )
    print(text)
    return text


def versions() -> str:
    from importlib.metadata import version

    parts = [
        f"Python {platform.python_version()}",
        f"{platform.system()} {platform.release()}",
        f"{os.cpu_count()} CPUs",
    ]
    for dist in ("pyregistry", "litestar", "uvicorn", "uvloop", "httptools", "pypiserver", "gunicorn", "pip", "twine"):
        with contextlib.suppress(Exception):
            parts.append(f"{dist} {version(dist)}")
    return ", ".join(parts)


@contextlib.contextmanager
def running(target: Target) -> Iterator[Target]:
    target.sampler = MemorySampler(target.server)
    target.metrics["idle RSS"] = f"{target.server.rss_mb():.0f} MB"
    with target.sampler:
        try:
            yield target
        finally:
            target.metrics["peak RSS (whole run)"] = f"{max(target.sampler.peak, target.server.rss_mb()):.0f} MB"
            target.server.stop()


def measure(
    target: Target,
    args: argparse.Namespace,
    work: Path,
    corpus: Corpus,
    big_upload: Path,
    speeds: tuple[float, float],
) -> None:
    print(f"measuring {target.server.name} ...", file=sys.stderr)
    discover_files(target)
    for concurrency in sorted({1, args.concurrency}):
        load_tests(target, concurrency, args.duration)
    big_download(target, *speeds)
    pip_download(target, work, args.pip_packages)
    twine_uploads(target, corpus, big_upload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--wide", type=int, default=10_000, help="projects in the wide tenant (root index test)")
    parser.add_argument("--big-mb", type=int, default=100)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per load run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pip-packages", type=int, default=50)
    parser.add_argument("--devpi-projects", type=int, default=50, help="devpi is loaded over HTTP, so only a subset")
    parser.add_argument("--skip-devpi", action="store_true")
    args = parser.parse_args()

    work = RESULTS / f"work-{args.projects}x{args.versions}-w{args.wide}-b{args.big_mb}"
    work.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(work / "corpus", args.projects, args.versions, args.wide, args.big_mb)
    big_upload_dir = work / "corpus" / "bigupload"
    big_upload_dir.mkdir(exist_ok=True)
    big_upload = next(big_upload_dir.glob("*.whl"), None) or tiny_wheel(
        big_upload_dir, "bigupload", "1.0.0", payload=os.urandom(args.big_mb * 1024 * 1024)
    )
    disk = disk_read_speed(corpus.big_file())
    ceiling = loopback_ceiling(corpus.big_file())
    speeds = (disk, ceiling)
    print(f"local disk read of the {args.big_mb} MB wheel: {disk:,.0f} MB/s", file=sys.stderr)
    print(f"loopback ceiling (bare socket server, same client): {ceiling:,.0f} MB/s", file=sys.stderr)

    targets: list[Target] = []
    ours, wide_ours = start_pyregistry(work, corpus, wide=args.wide > 0)
    with running(ours):
        measure(ours, args, work, corpus, big_upload, speeds)
        if wide_ours is not None:
            for concurrency in sorted({1, args.concurrency}):
                record(
                    ours,
                    f"root index {args.wide} projects HTML c={concurrency}",
                    run_load(
                        ours.server.port,
                        lambda: wide_ours.index_path,
                        concurrency=concurrency,
                        duration=args.duration,
                        headers={**wide_ours.headers, "Accept": HTML},
                    ),
                )
    targets.append(ours)

    peer = start_pypiserver(work, [corpus.small, corpus.big], "pypiserver")
    peer.projects = list(ours.projects)
    with running(peer):
        measure(peer, args, work, corpus, big_upload, speeds)
    targets.append(peer)

    if args.wide > 0:
        wide_peer = start_pypiserver(work, [corpus.wide], "pypiserver-wide")
        with running(wide_peer):
            for concurrency in sorted({1, args.concurrency}):
                record(
                    peer,
                    f"root index {args.wide} projects HTML c={concurrency}",
                    run_load(
                        wide_peer.server.port,
                        lambda: "/simple/",
                        concurrency=concurrency,
                        duration=args.duration,
                        headers={"Accept": HTML},
                    ),
                )

    if not args.skip_devpi:
        devpi = start_devpi(work, corpus, args.devpi_projects)
        if devpi is not None:
            with running(devpi):
                measure(devpi, args, work, corpus, big_upload, speeds)
            targets.append(devpi)

    print()
    print(f"Machine: {versions()}")
    print(f"Local disk read of the {args.big_mb} MB wheel (page cache warm): {disk:,.0f} MB/s")
    print(f"Loopback ceiling for the same wheel (bare socket server, same client): {ceiling:,.0f} MB/s")
    table = print_table(targets, args.concurrency)
    (RESULTS / "last-run.md").write_text(f"Machine: {versions()}\n\n{table}\n")


if __name__ == "__main__":
    main()
