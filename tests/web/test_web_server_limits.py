"""The web process's bounds on connections (``web.http_limits``), through real sockets against ``python -m web``."""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from collections.abc import Iterator
from contextlib import closing

import httpx
import psutil

from tests.support.web_server import WebServer, running_web_server
from web.http_limits import DEFAULT_MAX_CONNECTIONS, OTHER_OPEN_FILES

HEAD_START = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Filler: "
FILLER_CHUNK = b"a" * (256 * 1024)
# Well past the default MAX_HEADER_BYTES (64 KiB): without a bound, twenty of these take 200 MB of the server.
FILLER_BYTES_PER_CONNECTION = 10 * 1024 * 1024
CONNECTIONS = 20
RSS_GROWTH_BOUND_BYTES = 64 * 1024 * 1024
SOCKET_TIMEOUT_S = 15.0


def connect(server: WebServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT_S)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    received = bytearray()
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return bytes(received)
        if not data:
            return bytes(received)
        received.extend(data)


def with_env(**settings: str) -> dict[str, str]:
    return {**os.environ, **settings}


def test_huge_unterminated_headers_are_refused_and_do_not_grow_the_process() -> None:
    with running_web_server() as server:
        process = psutil.Process(server.process.pid)
        rss_before = process.memory_info().rss
        sockets = [connect(server) for _ in range(CONNECTIONS)]
        sent = [0] * CONNECTIONS
        refused = [False] * CONNECTIONS
        try:
            for sock in sockets:
                sock.sendall(HEAD_START)
            while not all(refused[i] or sent[i] >= FILLER_BYTES_PER_CONNECTION for i in range(CONNECTIONS)):
                for index, sock in enumerate(sockets):
                    if refused[index] or sent[index] >= FILLER_BYTES_PER_CONNECTION:
                        continue
                    try:
                        sock.sendall(FILLER_CHUNK)
                        sent[index] += len(FILLER_CHUNK)
                    except (BrokenPipeError, ConnectionResetError):
                        refused[index] = True
            rss_peak = process.memory_info().rss
            answers = [read_until_closed(sock) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
        assert rss_peak - rss_before < RSS_GROWTH_BOUND_BYTES, (rss_before, rss_peak)
        for answer in answers:
            # Either the 431 arrived, or the server closed while we were still sending and the reset ate it.
            assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert any(answer.startswith(b"HTTP/1.1 431 ") for answer in answers)
        assert max(sent) < FILLER_BYTES_PER_CONNECTION
        assert server.health()["status"] == "ok"


def test_a_complete_head_over_the_limits_is_refused_with_a_json_error() -> None:
    env = with_env(MAX_HEADER_BYTES="4096", MAX_HEADER_COUNT="10", MAX_REQUEST_LINE_BYTES="1024")
    with running_web_server(env) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        big = http.get("/healthz", headers={"X-Big": "b" * 5000})
        assert big.status_code == 431
        assert big.json()["error"]["code"] == "request_header_too_large"
        many = http.get("/healthz", headers={f"X-Header-{i}": "1" for i in range(20)})
        assert many.status_code == 431
        assert many.json()["error"]["code"] == "too_many_headers"
        long_line = http.get("/healthz?" + "q" * 2000)
        assert long_line.status_code == 414
        assert long_line.json()["error"]["code"] == "request_line_too_long"
        assert http.get("/healthz", headers={"X-Fine": "f" * 1000}).status_code == 200


def test_a_half_sent_request_is_closed_after_the_header_deadline() -> None:
    with running_web_server(with_env(HEADER_TIMEOUT_S="1")) as server:
        with closing(connect(server)) as half_sent, closing(connect(server)) as silent:
            half_sent.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
            assert read_until_closed(half_sent) == b""
            assert read_until_closed(silent) == b""
        # On a kept-alive connection the deadline starts again with the next request's first byte.
        with closing(connect(server)) as kept_alive:
            kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\nGET /healthz HTTP/1.1\r\n")
            answer = read_until_closed(kept_alive)
            assert answer.startswith(b"HTTP/1.1 200 ")
            assert answer.count(b"HTTP/1.1 ") == 1
        assert server.health()["status"] == "ok"


def test_connections_above_the_limit_get_503() -> None:
    limit = 4
    with running_web_server(with_env(MAX_CONNECTIONS=str(limit), HEADER_TIMEOUT_S="60")) as server:
        idle = [connect(server) for _ in range(limit)]
        try:
            wait_for_connections(server, limit)
            with httpx.Client(base_url=server.base_url, timeout=10) as http:
                refused = http.get("/healthz")
                assert refused.status_code == 503
                assert refused.json()["error"]["code"] == "too_many_connections"
                assert refused.headers["retry-after"].isdigit()
        finally:
            for sock in idle:
                sock.close()
        assert server.health()["status"] == "ok"


def test_the_web_process_raises_its_open_files_limit_to_hold_its_connections() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Many systems start processes at 1,024 open files, under the default MAX_CONNECTIONS.
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, soft), hard))
    try:
        with running_web_server() as server:
            raised, _ = psutil.Process(server.process.pid).rlimit(psutil.RLIMIT_NOFILE)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    wanted = DEFAULT_MAX_CONNECTIONS + OTHER_OPEN_FILES
    assert raised == (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard))


def wait_for_connections(server: WebServer, count: int) -> None:
    """Until the server process holds ``count`` established connections on its port (accepted, not queued)."""
    process = psutil.Process(server.process.pid)
    for _ in range(200):
        established = [
            conn
            for conn in process.net_connections(kind="tcp")
            if conn.status == psutil.CONN_ESTABLISHED and conn.laddr.port == server.port
        ]
        if len(established) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the server never held {count} connections")


def slow_upload_body(boundary: str, pieces: int, pause_s: float) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.wav"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(pieces):
        time.sleep(pause_s)
        yield os.urandom(64 * 1024)
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_slow_upload_body_still_succeeds() -> None:
    # The body arrives over about 4 s: longer than the header deadline and the keep-alive time-out together.
    boundary = "slowboundary"
    env = with_env(HEADER_TIMEOUT_S="1", KEEP_ALIVE_TIMEOUT_S="1")
    with running_web_server(env) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        response = http.post(
            "/api/audio/ingest",
            content=slow_upload_body(boundary, pieces=8, pause_s=0.5),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 202, response.text
        assert json.loads(response.text)["status"] == "queued"
