"""The clearance system's endpoint misbehaving at the socket: an answer dripped a byte at a time, a status
line that is not HTTP, a header line too long. Each attempt ends as a retry naming what happened, within
twice the timeout, never a hang of the delivery thread (every confirmation waits behind it) or a traceback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from central.confirm_delivery import HttpPoster
from central.confirm_settings import ConfirmationSettings


class RawEndpoint:
    """A TCP server that reads the request and answers ``answer``, ``pause_s`` between bytes."""

    def __init__(self, answer: bytes, pause_s: float = 0.0) -> None:
        self.answer, self.pause_s = answer, pause_s
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.requests += 1
                try:
                    if self.pause_s == 0:
                        conn.sendall(self.answer)
                    for byte in self.answer if self.pause_s else b"":
                        conn.sendall(bytes([byte]))
                        time.sleep(self.pause_s)
                except OSError:
                    continue  # the client cut the connection

    def settings(self, timeout_s: float) -> ConfirmationSettings:
        return ConfirmationSettings(
            endpoint=f"http://127.0.0.1:{self.port}/confirmations", allow_http=True, timeout_s=timeout_s
        )


@pytest.fixture
def dripping() -> Iterator[RawEndpoint]:
    endpoint = RawEndpoint(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 400 + b"\r\n\r\n", pause_s=0.1)
    yield endpoint  # 40 s to answer in full, each byte well within the timeout
    endpoint.server.close()


def test_an_answer_dripped_a_byte_at_a_time_ends_the_attempt_after_twice_the_timeout(
    dripping: RawEndpoint,
) -> None:
    started = time.monotonic()
    outcome = HttpPoster(dripping.settings(timeout_s=0.5)).post(b"{}", {})
    took = time.monotonic() - started
    assert (outcome.kind, outcome.status, outcome.detail) == ("retry", None, "no whole answer within 1 s")
    assert 0.9 < took < 5  # before: the whole 40 s drip, whatever the timeout
    assert dripping.requests == 1


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (b"garbage\r\n\r\n", "BadStatusLine: garbage\r\n"),
        (
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
            "LineTooLong: got more than 65536 bytes when reading header line",
        ),
    ],
)
def test_an_answer_that_is_not_http_is_a_retry_naming_it_not_an_exception(answer: bytes, detail: str) -> None:
    endpoint = RawEndpoint(answer)
    try:
        outcome = HttpPoster(endpoint.settings(timeout_s=5)).post(b"{}", {})
    finally:
        endpoint.server.close()
    assert (outcome.kind, outcome.status, outcome.detail) == ("retry", None, detail)


def test_a_redirect_is_retried_naming_where_it_pointed_and_never_followed() -> None:
    elsewhere = RawEndpoint(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    target = f"http://127.0.0.1:{elsewhere.port}/collect"
    endpoint = RawEndpoint(f"HTTP/1.1 301 Moved\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n".encode())
    try:
        outcome = HttpPoster(endpoint.settings(timeout_s=5)).post(b"{}", {})
    finally:
        endpoint.server.close()
        elsewhere.server.close()
    assert (outcome.kind, outcome.status) == ("retry", 301)
    assert outcome.detail == f"HTTP 301 to '{target}' (not followed): "
    assert elsewhere.requests == 0  # the signed body went nowhere else
