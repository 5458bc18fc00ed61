"""Sessions, idle timeout, login rate limit and login waits, with the clocks under the test's control.

The app runs in-process (httpx's ASGI transport) or under uvicorn, on a daemon that is built but not
started: these rules live in the kiosk, not in the lane.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from devices.sim.net import free_tcp_port
from edge.config import GateConfig, StoreConfig
from edge.daemon import LaneDaemon
from edge.kiosk.app import create_app
from edge.kiosk.config import KioskConfig
from edge.kiosk.server import KioskStartError, run_kiosk, serve_kiosk
from edge.kiosk.sessions import RateLimiter, SessionStore
from edge.kiosk.users import Role, UserError, UsersRepo
from tests.waiting import cancel_and_wait
from vision.identity import Identification


class NoCameras:
    async def identify(self, tx_id: str, window_s: float) -> Identification:
        return Identification(plate=None)


class Clocks:
    """A monotonic and a wall clock that move only when the test says so."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.utc = datetime(2030, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return self.utc

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.utc += timedelta(seconds=seconds)


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[LaneDaemon]:
    lane = LaneDaemon(GateConfig(store=StoreConfig(path=tmp_path / "gate.db")), NoCameras())
    UsersRepo(lane.store.conn).add("olga", Role.OFFICER, "officer-pass-1", datetime.now(UTC))
    yield lane
    lane.store.close()


def client_for(daemon: LaneDaemon, config: KioskConfig, clocks: Clocks) -> httpx.AsyncClient:
    app = create_app(daemon, config, clock=clocks.monotonic, wall=clocks.wall)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kiosk")


GOOD = {"name": "olga", "password": "officer-pass-1"}
BAD = {"name": "olga", "password": "wrong-password"}


async def test_a_session_idle_past_the_timeout_must_log_in_again(daemon: LaneDaemon) -> None:
    clocks = Clocks()
    async with client_for(daemon, KioskConfig(session_idle_timeout_s=60), clocks) as http:
        assert (await http.post("/api/v1/login", json=GOOD)).status_code == 200
        clocks.advance(59)
        assert (await http.get("/api/v1/lane")).status_code == 200  # activity restarts the idle timer
        clocks.advance(59)
        assert (await http.get("/api/v1/session")).status_code == 200
        clocks.advance(61)
        expired = await http.get("/api/v1/session")
        assert expired.status_code == 401
        assert expired.json()["detail"] == "not logged in, or the session expired"


async def test_a_session_ends_at_its_maximum_age_however_active(daemon: LaneDaemon) -> None:
    clocks = Clocks()
    config = KioskConfig(session_idle_timeout_s=60, session_max_age_s=100)
    async with client_for(daemon, config, clocks) as http:
        await http.post("/api/v1/login", json=GOOD)
        for _ in range(2):
            clocks.advance(45)
            assert (await http.get("/api/v1/session")).status_code == 200
        clocks.advance(45)
        assert (await http.get("/api/v1/session")).status_code == 401


async def test_logins_beyond_the_rate_limit_get_429_with_retry_after(daemon: LaneDaemon) -> None:
    clocks = Clocks()
    async with client_for(
        daemon, KioskConfig(login_rate_per_minute=3, login_free_failures=50), clocks
    ) as http:
        codes = [(await http.post("/api/v1/login", json=BAD)).status_code for _ in range(3)]
        limited = await http.post("/api/v1/login", json=GOOD)
        assert codes == [401, 401, 401]
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "60"
        clocks.advance(60)
        assert (await http.post("/api/v1/login", json=GOOD)).status_code == 200


async def test_failed_logins_make_the_next_attempt_wait_and_the_right_password_then_works(
    daemon: LaneDaemon,
) -> None:
    clocks = Clocks()
    config = KioskConfig(login_free_failures=2, login_rate_per_minute=100)
    async with client_for(daemon, config, clocks) as http:
        assert [(await http.post("/api/v1/login", json=BAD)).status_code for _ in range(2)] == [401, 401]
        early = await http.post("/api/v1/login", json=GOOD)
        assert early.status_code == 429  # the right password too: a guess in the wait is not even tried
        assert early.headers["retry-after"] == "1"
        clocks.advance(1)
        assert (await http.post("/api/v1/login", json=GOOD)).status_code == 200
        assert [(await http.post("/api/v1/login", json=BAD)).status_code for _ in range(3)] == [401, 401, 429]


async def test_cookies_are_secure_when_served_over_tls(daemon: LaneDaemon) -> None:
    async with client_for(daemon, KioskConfig(secure_cookies=True), Clocks()) as http:
        response = await http.post("/api/v1/login", json=GOOD)
        assert "secure" in response.headers["set-cookie"].lower()
    assert KioskConfig(tls_cert=Path("c.pem"), tls_key=Path("k.pem")).cookies_secure
    assert not KioskConfig().cookies_secure


async def test_evidence_images_are_served_by_hash_from_the_evidence_folder_only(
    daemon: LaneDaemon, tmp_path: Path
) -> None:
    digest = "ab" * 32
    (tmp_path / f"{digest}.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    config = KioskConfig(evidence_dir=tmp_path)
    async with client_for(daemon, config, Clocks()) as http:
        await http.post("/api/v1/login", json=GOOD)
        image = await http.get(f"/api/v1/evidence/{digest}")
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        assert (await http.get("/api/v1/evidence/" + "cd" * 32)).status_code == 404
        assert (await http.get("/api/v1/evidence/..%2Fgate.db")).status_code in (404, 422)


async def test_lane_view_carries_the_uplinks_link_clearance_and_alarm_figures(daemon: LaneDaemon) -> None:
    def uplink_status() -> dict[str, object]:
        return {"enabled": True, "connected": False, "clearance_age_s": 42.5, "alarms": ["outbox_backlog"]}

    app = create_app(daemon, KioskConfig(), sync_status=uplink_status)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kiosk") as http:
        await http.post("/api/v1/login", json=GOOD)
        sync = (await http.get("/api/v1/lane")).json()["sync"]
    assert sync == {
        "enabled": True,
        "outbox_depth": 0,
        "oldest_pending_age_s": None,
        "broker_connected": False,
        "last_clearance_age_s": 42.5,
        "alarms": ["outbox_backlog"],
    }
    async with client_for(daemon, KioskConfig(), Clocks()) as http:  # no uplink wired: unknown, not "down"
        await http.post("/api/v1/login", json=GOOD)
        sync = (await http.get("/api/v1/lane")).json()["sync"]
    assert (sync["enabled"], sync["broker_connected"], sync["last_clearance_age_s"]) == (None, None, None)


async def test_live_stream_ends_with_an_expired_event_once_the_session_idles_out(daemon: LaneDaemon) -> None:
    clocks = Clocks()
    config = KioskConfig(port=free_tcp_port(), session_idle_timeout_s=30)
    started = asyncio.Event()
    server = asyncio.create_task(serve_kiosk(daemon, config, clock=clocks.monotonic, started=started))
    try:
        await asyncio.wait_for(started.wait(), 10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.port}") as http:
            await http.post("/api/v1/login", json=GOOD)
            async with http.stream("GET", "/api/v1/events") as stream:
                lines = stream.aiter_lines()
                assert await anext(lines) == "event: lane"
                clocks.advance(31)
                events = [line async for line in lines if line.startswith("event:")]
        assert events[-1] == "event: expired"
    finally:
        await cancel_and_wait(server)


async def test_serving_on_a_port_in_use_raises_a_typed_error_the_daemon_logs(
    daemon: LaneDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = KioskConfig(port=taken.getsockname()[1])
        with pytest.raises(KioskStartError, match="could not start"):
            await asyncio.wait_for(serve_kiosk(daemon, config), 10)
        with caplog.at_level(logging.ERROR, logger="edge.kiosk"):
            await asyncio.wait_for(run_kiosk(daemon, config), 10)  # the daemon's way: log, carry on
        assert "the lane runs without its kiosk" in caplog.text
    await asyncio.wait_for(run_kiosk(daemon, KioskConfig(enabled=False)), 1)


def test_session_store_forgets_dropped_and_idle_sessions() -> None:
    now = [0.0]
    store = SessionStore(idle_s=10, max_age_s=100, clock=lambda: now[0])
    first, second = store.create("a", Role.OFFICER), store.create("b", Role.VIEWER)
    assert first.csrf != second.csrf
    assert store.get(first.token) is first
    store.drop_user("a")
    assert store.get(first.token) is None
    now[0] = 11
    assert not store.alive(second)
    assert len(store) == 0


def test_rate_limiter_reopens_as_old_attempts_leave_the_window() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=2, window_s=60, clock=lambda: now[0])
    assert limiter.allow("x") is None
    now[0] = 30
    assert limiter.allow("x") is None
    assert limiter.allow("x") == 30
    assert limiter.allow("y") is None  # per address
    now[0] = 60
    assert limiter.allow("x") is None


def test_users_refuse_bad_names_short_passwords_and_duplicates(daemon: LaneDaemon) -> None:
    users = UsersRepo(daemon.store.conn)
    stored = users.get("olga")
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert "officer-pass-1" not in stored.password_hash
    now = datetime.now(UTC)
    for name, password in (("bad name", "long-enough"), ("ok", "short"), ("olga", "long-enough")):
        with pytest.raises(UserError):
            users.add(name, Role.VIEWER, password, now)


def test_kiosk_config_names_unknown_keys_and_needs_both_tls_files() -> None:
    with pytest.raises(ValidationError, match="extra"):
        KioskConfig.model_validate({"prot": 8080})
    with pytest.raises(ValidationError, match="tls_cert and tls_key"):
        KioskConfig(tls_cert=Path("cert.pem"))
    assert KioskConfig().host == "127.0.0.1"
    assert KioskConfig().port == 8080
