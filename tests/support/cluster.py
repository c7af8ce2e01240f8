"""Several ``pyregistry serve`` nodes on one PostgreSQL schema, one S3 bucket and one Redis prefix, behind a real
nginx (round robin) on loopback: the topology of "Running several nodes"."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.nginx import nginx_serving
from tests.support.postgres import postgres_schema
from tests.support.redis_server import REDIS_URL, redis_prefix
from tests.support.s3 import running_s3_server
from tests.support.server import RunningRegistry, start_registry

__all__ = ["NODE_START_SECONDS", "Cluster", "balanced_cluster", "upstream_config"]

NODE_START_SECONDS = 300
"""Three nodes starting at once on a busy 2-core machine: each may take minutes to import and answer."""

_SERVER_BODY = """        client_max_body_size 0;
        location / {
            proxy_pass http://pyregistry;
            proxy_set_header Host $http_host;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
        }
"""


def upstream_config(ports: list[int]) -> str:
    """An nginx ``upstream`` of the nodes; a node that refuses connections is skipped for 2 s."""
    servers = "".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n" for port in ports)
    return f"    upstream pyregistry {{\n{servers}        keepalive 16;\n    }}\n"


@dataclass
class Cluster:
    """The nodes (their own ports, for direct requests and signals) and the balancer's base URL."""

    nodes: list[RunningRegistry]
    base_url: str
    database_url: str

    def index_url(self, tenant: str, token: str) -> str:
        host = self.base_url.removeprefix("http://")
        return f"http://__token__:{token}@{host}/t/{tenant}/simple/"

    def upload_url(self, tenant: str) -> str:
        return f"{self.base_url}/t/{tenant}/legacy/"


def _start_all(workdir: Path, count: int, env: Mapping[str, str]) -> list[RunningRegistry]:
    """Start ``count`` nodes at once (each its own data dir), so start-up takes one node's time."""
    started: dict[int, RunningRegistry] = {}
    errors: list[BaseException] = []

    def one(number: int) -> None:
        node_dir = workdir / f"node-{number}"
        try:
            node_env = {**env, "DATA_DIR": str(node_dir / ".pyregistry")}
            started[number] = start_registry(node_dir, node_env, start_seconds=NODE_START_SECONDS)
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=one, args=(0,))
    first.start()
    first.join()  # the first node applies the schema migrations; the others then start together
    threads = [threading.Thread(target=one, args=(number,)) for number in range(1, count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        for node in started.values():
            node.stop()
        raise errors[0]
    return [started[number] for number in range(count)]


@contextmanager
def balanced_cluster(workdir: Path, count: int, env: Mapping[str, str] | None = None) -> Iterator[Cluster]:
    """``count`` nodes sharing PostgreSQL + S3 + Redis behind nginx; everything is stopped and dropped after."""
    with ExitStack() as stack:
        database_url = stack.enter_context(postgres_schema())
        s3 = stack.enter_context(running_s3_server(workdir))
        prefix = stack.enter_context(redis_prefix())
        shared = {
            "DATABASE_STORE": "postgres",
            "DATABASE_URL": database_url,
            "POSTGRES_MAX_CONNECTIONS": "8",
            "POSTGRES_MIN_CONNECTIONS": "1",
            "SHARED_STATE_REDIS_URL": REDIS_URL,
            "SHARED_STATE_REDIS_PREFIX": prefix,
            **s3.env(s3.new_bucket()),
            **(env or {}),
        }
        nodes = _start_all(workdir, count, shared)
        for node in nodes:
            stack.callback(node.stop)
        base = stack.enter_context(nginx_serving(workdir, _SERVER_BODY, upstream_config([node.port for node in nodes])))
        yield Cluster(nodes=nodes, base_url=base, database_url=database_url)
