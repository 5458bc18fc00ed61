"""Hostile HTTP input against the running kiosk: huge bodies, bodies before login, bad text, echoed input.

The uploads run from a worker thread with a blocking client, so the measurement of the kiosk's loop (the
/healthz probes) does not share that loop with the client's own work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.kiosk.conftest import KioskGate, as_user

pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON = {"content-type": "application/json"}
# Far above what /healthz takes on a loaded 2-core box, far below what parsing a 20 MB body cost (9 s).
STALL_S = 2.0


def padded_login(megabytes: int) -> bytes:
    """A login body made big by an array of zeros, as in the reported attack."""
    zeros = megabytes * 2**20 // 2
    return b'{"name":"x","password":"y","pad":[' + b"0," * zeros + b"0]}"


def post_blocking(url: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    with httpx.Client(timeout=60) as http:
        return http.post(url, content=content, headers=JSON)


async def probe_while(gate: KioskGate, work: asyncio.Future[httpx.Response]) -> float:
    """The longest gap between /healthz answers while `work` runs: a stall of the kiosk's loop."""
    worst = 0.0
    async with httpx.AsyncClient(base_url=gate.base_url, timeout=60) as http:
        last = time.monotonic()
        while not work.done():
            assert (await http.get("/healthz")).status_code == 200
            worst = max(worst, time.monotonic() - last)
            last = time.monotonic()
            await asyncio.sleep(0.01)
    return worst


def chunks(body: bytes, size: int = 65_536) -> Iterator[bytes]:
    """The body without a Content-Length (chunked): the cap must hold while it is read."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize(
    ("megabytes", "declared"), [(4, False), (20, True)], ids=["4MB-chunked", "20MB-content-length"]
)
async def test_an_oversized_body_gets_413_and_the_kiosk_keeps_answering_meanwhile(
    gate: KioskGate, megabytes: int, declared: bool
) -> None:
    body = padded_login(megabytes)
    content: bytes | Iterator[bytes] = body if declared else chunks(body)
    upload = asyncio.ensure_future(asyncio.to_thread(post_blocking, gate.base_url + "/api/v1/login", content))
    worst = await probe_while(gate, upload)
    response = await upload
    took = f"/healthz took up to {worst:.3f} s while a {megabytes} MB body was sent"
    assert (response.status_code, worst < STALL_S) == (413, True), took
    assert response.json() == {"detail": "request body over the 65536-byte limit"}


async def test_a_body_sent_without_a_session_is_refused_before_it_is_parsed(
    client: httpx.AsyncClient,
) -> None:
    broken = b"{" * 60_000  # not JSON: parsing it would answer 422, refusing it first answers 401
    for path in ("/api/v1/lane/approve", "/api/v1/lane/correct", "/api/v1/lane/open", "/api/v1/logout"):
        response = await client.post(path, content=broken, headers=JSON)
        assert response.status_code == 401, (path, response.text[:200])
        assert response.json() == {"detail": "not logged in, or the session expired"}


LOGIN_TEXT = [
    ('{"name":"\\ud800olga","password":"officer-pass-1"}', "surrogate in the name"),
    ('{"name":"olga","password":"\\udfff-officer"}', "surrogate in the password"),
    ('{"name":"ol\\u0000ga","password":"officer-pass-1"}', "NUL in the name"),
    ('{"name":"olga\\n","password":"officer-pass-1"}', "newline in the name"),
    ('{"name":"\\u202eagol","password":"officer-pass-1"}', "bidi override in the name"),
]


@pytest.mark.parametrize("body", [b for b, _ in LOGIN_TEXT], ids=[i for _, i in LOGIN_TEXT])
async def test_login_text_with_surrogates_or_control_characters_gets_422(
    client: httpx.AsyncClient, body: str
) -> None:
    response = await client.post("/api/v1/login", content=body.encode(), headers=JSON)
    assert response.status_code == 422, response.text
    assert "-officer" not in response.text  # a password is never echoed, even a bad one


REASONS = {
    "surrogate": '"\\ud83dchecked by eye"',
    "NUL": '"checked\\u0000 by eye"',
    "escape sequence": '"\\u001b[2Jchecked by eye"',
    "newline": '"checked\\nby eye"',
    "C1 control": '"checked\\u0085by eye"',
    "bidi override": '"checked \\u202eeye yb"',
    "line separator": '"checked\\u2028by eye"',
}


@pytest.mark.parametrize("reason", list(REASONS.values()), ids=list(REASONS))
async def test_a_reason_with_surrogates_or_control_characters_gets_422(gate: KioskGate, reason: str) -> None:
    async with as_user(gate, "olga") as (http, csrf):
        body = f'{{"tx_id":"t-1","reason":{reason}}}'.encode()
        response = await http.post("/api/v1/lane/approve", content=body, headers={**JSON, **csrf})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "reason"]
    assert gate.daemon.store.audit.records() == []


async def test_bodies_that_are_not_utf8_or_not_json_get_4xx_never_500(client: httpx.AsyncClient) -> None:
    bodies = [
        (b'{"name":"\xff\xfe","password":"officer-pass-1"}', JSON),  # invalid UTF-8
        (b'{"name":"\xed\xa0\x80olga","password":"officer-pass-1"}', JSON),  # a surrogate, UTF-8 encoded
        (b"\xff\xfe\x00", {"content-type": "text/plain"}),  # raw bytes where JSON belongs
        (b"[" * 30_000, JSON),  # nesting deep enough to exhaust a recursive parser
        (b'{"name":' + b"9" * 5000 + b',"password":"x"}', JSON),  # an integer past Python's digit limit
    ]
    for body, headers in bodies:
        response = await client.post("/api/v1/login", content=body, headers=headers)
        assert 400 <= response.status_code < 500, (body[:40], response.status_code)
        assert len(response.content) < 2000


async def test_validation_errors_echo_only_a_short_prefix_and_never_a_password(
    client: httpx.AsyncClient,
) -> None:
    long_name = await client.post("/api/v1/login", json={"name": "n" * 60_000, "password": "whatever-1"})
    assert long_name.status_code == 422
    assert len(long_name.content) < 1000
    (error,) = long_name.json()["detail"]
    assert error["loc"] == ["body", "name"]
    assert error["input"] == "n" * 64 + "…"

    long_password = await client.post("/api/v1/login", json={"name": "olga", "password": "secret-" * 100})
    assert long_password.status_code == 422
    assert "secret" not in long_password.text

    no_name = await client.post("/api/v1/login", json={"password": "secret-officer-1"})
    assert no_name.status_code == 422
    assert "secret" not in no_name.text  # the missing-field error's input is the whole body

    padded = await client.post("/api/v1/login", json={"name": "x", "password": "y", "pad": [0] * 20_000})
    assert padded.status_code == 422
    assert len(padded.content) < 1000

    odd_key = await client.post(
        "/api/v1/login",
        content=b'{"name":"x","password":"y","\\ud800' + b"k" * 30_000 + b'":1}',
        headers=JSON,
    )
    assert odd_key.status_code == 422
    assert len(odd_key.content) < 1000
