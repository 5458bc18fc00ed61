"""The API's gatekeeping on the running gate: probes, logins and their waits, sessions, CSRF, roles."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.kiosk.users import Role, UsersRepo
from edge.lane import LaneState
from tests.kiosk.conftest import KioskGate, as_user

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_healthz_answers_and_readyz_reports_ready_once_the_lane_runs(
    gate: KioskGate, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, str(ready.json())
    assert ready.json() == {
        "ready": True,
        "lane_started": True,
        "lane_loop": True,
        "controller_link": True,
        "store": True,
    }


async def test_readyz_is_false_while_the_uplink_handles_no_inbound_message(
    gate: KioskGate, client: httpx.AsyncClient
) -> None:
    """The uplink's own stall detection is tested in tests/edge/test_uplink_inbound.py; here, its report
    (a stand-in status callable with the uplink's shape) must reach /readyz."""
    alive = {"inbound_alive": True}
    gate.daemon.uplink_status = lambda: dict(alive)
    try:
        assert (await client.get("/readyz")).json()["inbound"] is True
        alive["inbound_alive"] = False
        stuck = await client.get("/readyz")
        assert stuck.status_code == 503
        assert stuck.json()["ready"] is False
        assert stuck.json()["inbound"] is False
    finally:
        gate.daemon.uplink_status = None


async def test_metrics_are_served_on_the_kiosk_port_in_prometheus_format(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name for f in text_string_to_metric_families(response.text)}
    assert {"gate_outbox_depth", "gate_liveness_check_ok"} <= families


async def test_login_sets_an_httponly_samesite_strict_cookie_and_returns_the_csrf_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/login", json={"name": "olga", "password": "officer-pass-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == "olga"
    assert body["role"] == "officer"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback; Secure comes with TLS
    session = await client.get("/api/v1/session")
    assert session.json()["csrf_token"] == body["csrf_token"]


async def test_wrong_password_and_unknown_user_get_the_same_401(client: httpx.AsyncClient) -> None:
    wrong = await client.post("/api/v1/login", json={"name": "sam", "password": "nope-nope"})
    unknown = await client.post("/api/v1/login", json={"name": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


def from_address(gate: KioskGate, address: str) -> httpx.AsyncClient:
    """A client whose connections come from `address` (any 127.x.y.z reaches the kiosk on loopback)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=gate.base_url, transport=transport, timeout=10)


async def guesses(gate: KioskGate, address: str, name: str, count: int) -> list[tuple[int, str, str | None]]:
    """`count` wrong passwords for `name` from `address`: (status, detail, Retry-After) of each answer.

    A wait runs from the start of the failed attempt that set it, so on a loaded box, where checking the
    password takes seconds, the next answer may say 58 where the rule says 60: a Retry-After within the
    time the attempt since that failure took reads as the full wait it counts down from.
    """
    answers = []
    last_failure = time.monotonic()
    async with from_address(gate, address) as attacker:
        for _ in range(count):
            started = time.monotonic()
            response = await attacker.post("/api/v1/login", json={"name": name, "password": "bad-guess"})
            retry_after = response.headers.get("retry-after")
            answers.append((response.status_code, response.json()["detail"], retry_after))
            if retry_after is None or response.status_code != 429:
                last_failure = started
                continue
            since_failure = math.ceil(time.monotonic() - last_failure)
            for full in (60, 120):  # the first wait, and the one after a second failure
                if full - since_failure <= int(retry_after) <= full:
                    answers[-1] = (429, response.json()["detail"], str(full))
    return answers


WRONG = (401, "wrong user name or password", None)
WAIT = (429, "too many failed logins: wait and try again", "60")  # conftest: the first wait is 60 s


async def test_failed_logins_from_other_addresses_never_keep_the_officer_out(
    gate: KioskGate, client: httpx.AsyncClient
) -> None:
    UsersRepo(gate.daemon.store.conn).add("lena", Role.OFFICER, "officer-pass-2", datetime.now(UTC))
    for n in range(2, 9):  # seven attackers, three free failures each: past the account's alarm (20)
        codes = [code for code, _, _ in await guesses(gate, f"127.0.0.{n}", "lena", 5)]
        assert codes[:1] == [401]
        assert codes[-2:] == [429, 429]
    assert await guesses(gate, "127.0.0.9", "lena", 2) == [WRONG, WAIT]  # under attack: one free failure
    right = await client.post("/api/v1/login", json={"name": "lena", "password": "officer-pass-2"})
    assert right.status_code == 200, right.text  # from the officer's own address, at the first try


async def test_an_unknown_name_gets_the_same_answers_as_an_account_through_the_waits(gate: KioskGate) -> None:
    known = await guesses(gate, "127.0.1.1", "olga", 5)
    unknown = await guesses(gate, "127.0.1.2", "nobody-here", 5)
    assert known == unknown == [WRONG, WRONG, WRONG, WAIT, WAIT]


async def test_every_api_read_needs_a_session(client: httpx.AsyncClient) -> None:
    fresh = httpx.AsyncClient(base_url=str(client.base_url))
    async with fresh:
        for path in (
            "/api/v1/lane",
            "/api/v1/events",
            "/api/v1/session",
            "/api/v1/transactions",
            "/api/v1/transactions/x",
            "/api/v1/audit",
            "/api/v1/audit/verify",
            "/api/v1/evidence/" + "a" * 64,
        ):
            assert (await fresh.get(path)).status_code == 401, path


async def test_a_change_without_the_csrf_token_or_from_another_origin_is_refused(gate: KioskGate) -> None:
    async with as_user(gate, "sam") as (http, csrf):
        body = {"reason": "barrier maintenance"}
        missing = await http.post("/api/v1/lane/open", json=body)
        wrong = await http.post("/api/v1/lane/open", json=body, headers={"X-CSRF-Token": "forged"})
        foreign = await http.post(
            "/api/v1/lane/open", json=body, headers={**csrf, "Origin": "http://evil.example"}
        )
        logout = await http.post("/api/v1/logout", json={})
        assert [missing.status_code, wrong.status_code, foreign.status_code, logout.status_code] == [
            403,
            403,
            403,
            403,
        ]
        assert missing.json()["detail"] == "CSRF token missing or wrong"
        assert gate.daemon.view.state is LaneState.IDLE
        assert gate.daemon.store.audit.records() == []


async def test_viewer_may_watch_but_not_approve_reject_correct_or_open(gate: KioskGate) -> None:
    async with as_user(gate, "vic") as (http, csrf):
        assert (await http.get("/api/v1/lane")).status_code == 200
        decision = {"tx_id": "t", "reason": "checked by eye"}
        for path, body in (
            ("/api/v1/lane/approve", decision),
            ("/api/v1/lane/reject", decision),
            ("/api/v1/lane/inspection-done", decision),
            ("/api/v1/lane/correct", {**decision, "plate": "51C10001"}),
            ("/api/v1/lane/open", {"reason": "maintenance"}),
        ):
            response = await http.post(path, json=body, headers=csrf)
            assert response.status_code == 403, path
            assert response.json()["detail"] == "role viewer may not do this"
        assert (await http.get("/api/v1/audit")).status_code == 403


async def test_officer_cannot_open_the_barrier_by_hand(gate: KioskGate) -> None:
    async with as_user(gate, "olga") as (http, csrf):
        response = await http.post("/api/v1/lane/open", json={"reason": "maintenance"}, headers=csrf)
        assert response.status_code == 403
    assert gate.daemon.view.state is LaneState.IDLE


async def test_actions_on_a_lane_holding_nothing_answer_409(gate: KioskGate) -> None:
    async with as_user(gate, "olga") as (http, csrf):
        response = await http.post(
            "/api/v1/lane/approve", json={"tx_id": "none", "reason": "checked"}, headers=csrf
        )
        assert response.status_code == 409
        assert response.json()["detail"] == "no vehicle is held at the lane"


async def test_event_stream_sends_the_lane_view_at_once(gate: KioskGate) -> None:
    async with as_user(gate, "vic") as (http, _), http.stream("GET", "/api/v1/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == "event: lane"
        data = await anext(lines)
        assert data.startswith("data: ")
        assert '"state":"IDLE"' in data


async def test_disabling_an_account_ends_its_session_at_once(gate: KioskGate) -> None:
    async with as_user(gate, "vic") as (http, _):
        assert (await http.get("/api/v1/lane")).status_code == 200
        users = UsersRepo(gate.daemon.store.conn)
        users.set_disabled("vic", True)
        try:
            assert (await http.get("/api/v1/lane")).status_code == 401
        finally:
            users.set_disabled("vic", False)


async def test_page_and_assets_come_from_the_daemon_with_a_strict_content_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"
    for asset in ("/static/kiosk.js", "/static/history.js", "/static/kiosk.css", "/static/base/base.css"):
        response = await client.get(asset)
        assert response.status_code == 200
        assert "https://" not in response.text
        assert "http://" not in response.text
    assert "http" not in page.text.replace("http-equiv", "")
    assert (await client.get("/docs")).status_code == 404  # Swagger UI would load from a CDN
    assert "/api/v1/lane/approve" in (await client.get("/openapi.json")).json()["paths"]
