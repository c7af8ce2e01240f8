"""A real S3-compatible HTTP server (moto's ``moto_server``) on 127.0.0.1 for storage tests."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import BIN_DIR, free_port

__all__ = ["S3Server", "running_s3_server"]

ACCESS_KEY = "pyregistry-test"
SECRET_KEY = "pyregistry-test-secret"


@dataclass(frozen=True)
class S3Server:
    """The endpoint of a running server; ``new_bucket`` creates an empty bucket for one test."""

    endpoint: str

    def new_bucket(self) -> str:
        bucket = f"pyr-{secrets.token_hex(6)}"
        response = httpx.put(f"{self.endpoint}/{bucket}", timeout=10)
        response.raise_for_status()
        return bucket

    def options(self, bucket: str, root: str = "/artifacts") -> dict[str, str]:
        """OpenDAL ``s3`` options: explicit keys, no config files, never the EC2 metadata service."""
        return {
            "bucket": bucket,
            "endpoint": self.endpoint,
            "region": "us-east-1",
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "root": root,
            "disable_config_load": "true",
            "disable_ec2_metadata": "true",
            "enable_virtual_host_style": "false",
        }

    def env(self, bucket: str, root: str = "/artifacts") -> dict[str, str]:
        """The same options as ``OPENDAL_*`` environment variables for a server subprocess."""
        env = {f"OPENDAL_{key.upper()}": value for key, value in self.options(bucket, root).items()}
        env["OPENDAL_SCHEME"] = "s3"
        return env


@contextmanager
def running_s3_server(log_dir: Path) -> Iterator[S3Server]:
    """Start ``moto_server`` on a free loopback port; stop it (and lose its data) afterwards."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    log = (log_dir / "moto.log").open("ab")
    process = subprocess.Popen(
        [str(BIN_DIR / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {(log_dir / 'moto.log').read_text()}")
            try:
                httpx.get(f"{endpoint}/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield S3Server(endpoint=endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()
