"""The central screen's API, on a real central fed through Mosquitto: logins, CSRF, roles, hostile input,
the gates' overview, the search, one passage, the live stream, and the staff account commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from central.receiver import Central
from tests.central.screen_gates import Screen, g1_story, run_screen, wait_until
from tests.sync.broker import Mosquitto
from tests.sync.conftest import REPO


@pytest.fixture
def screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


def stored(screen: Screen, count: int) -> Callable[[], bool]:
    return lambda: screen.central.counts["stored"] >= count


def test_every_read_needs_a_login_and_logout_needs_the_sessions_csrf_token(screen: Screen) -> None:
    anonymous = screen.client()
    for path in (
        "/api/v1/gates",
        "/api/v1/search",
        "/api/v1/passages/g1/tx-1",
        "/api/v1/audit",
        "/api/v1/live",
    ):
        answer = anonymous.get(path)
        assert answer.status_code == 401, path
        assert answer.json()["detail"] == "not logged in, or the session expired"
    assert (
        anonymous.post("/api/v1/login", json={"name": "vera", "password": "wrong-pass-1"}).status_code == 401
    )
    assert anonymous.post("/api/v1/login", json={"name": "nobody", "password": "wrong-pass-1"}).json() == {
        "detail": "wrong user name or password"
    }

    vera = screen.client("vera")
    assert vera.get("/api/v1/gates").status_code == 200
    token = vera.headers.pop("X-CSRF-Token")
    refused = vera.post("/api/v1/logout")
    assert (refused.status_code, refused.json()["detail"]) == (403, "CSRF token missing or wrong")
    other_site = vera.post(
        "/api/v1/logout", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert vera.get("/api/v1/gates").status_code == 200  # still logged in after both refusals
    assert vera.post("/api/v1/logout", headers={"X-CSRF-Token": token}).status_code == 200
    assert vera.get("/api/v1/gates").status_code == 401
    page = anonymous.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "https://" not in page.text  # no CDN: everything from this origin


def test_only_supervisors_and_admins_read_the_audit_and_only_admins_the_accounts(screen: Screen) -> None:
    screen.client().post("/api/v1/login", json={"name": "sam", "password": "not-his-pass"})
    viewer = screen.client("vera")
    assert viewer.get("/api/v1/audit").status_code == 403
    trail = screen.client("sam").get("/api/v1/audit").json()
    actions = [(line["actor"], line["action"]) for line in trail]
    assert ("sam", "login") in actions
    assert ("sam", "login.failed") in actions
    assert ("vera", "login") in actions
    assert all("pass" not in line["detail"] for line in trail)
    admin = screen.client("ada")
    assert admin.get("/api/v1/audit").status_code == 200
    assert screen.client("sam").get("/api/v1/users").status_code == 403
    accounts = admin.get("/api/v1/users").json()
    assert accounts == [
        {"name": "ada", "role": "admin", "disabled": False},
        {"name": "sam", "role": "supervisor", "disabled": False},
        {"name": "vera", "role": "viewer", "disabled": False},
    ]


@pytest.mark.parametrize(
    ("path", "code", "named"),
    [
        ("/api/v1/search?plate=%27%3B%20DROP%20TABLE%20events%3B--", 422, "query.plate"),
        ("/api/v1/search?container=" + "A" * 41, 422, "query.container"),
        ("/api/v1/search?declaration=%25%25", 422, "query.declaration"),
        ("/api/v1/search?since=yesterday", 422, "query.since"),
        ("/api/v1/search?since=2025-03-01T08:00:00", 422, "since: give a time zone"),
        ("/api/v1/search?since=2025-03-02T00:00Z&until=2025-03-01T00:00Z", 422, "since: after until"),
        ("/api/v1/passages/g1/%22%20OR%201=1", 422, "tx_id"),
        ("/api/v1/passages/..%2F..%2Fetc/passwd", 404, "Not Found"),
        ("/api/v1/passages/g1/tx-none", 404, "no passage tx-none of gate g1"),
    ],
)
def test_hostile_query_parameters_are_refused_with_4xx_naming_the_parameter(
    screen: Screen, path: str, code: int, named: str
) -> None:
    answer = screen.client("vera").get(path)
    assert answer.status_code == code, answer.text
    assert named in answer.json()["detail"]


def test_a_login_body_over_the_cap_is_413_before_it_is_parsed(screen: Screen) -> None:
    answer = screen.client().post(
        "/api/v1/login",
        content=b'{"name": "' + b"a" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413


def test_overview_shows_presence_lanes_shares_gaps_and_telemetry_apart(screen: Screen) -> None:
    g1, g2 = screen.gate("g1"), screen.gate("g2")
    g1_story(g1)
    g2.presence("offline")
    wait_until(stored(screen, 11), what="g1's 11 events")
    wait_until(lambda: screen.central.counts["status"] >= 2 and screen.central.counts["telemetry"] >= 1)
    gates = {g["gate_id"]: g for g in screen.client("vera").get("/api/v1/gates").json()}
    one = gates["g1"]
    assert (one["state"], gates["g2"]["state"]) == ("online", "offline")
    assert one["events"] == 11
    assert one["gaps"] == [5]  # the lost event, and only it: seq 4 was a telemetry sample
    assert one["telemetry_not_received"] == 0
    assert one["last_event"]["kind"] == "lane.alarm"
    assert (one["outbox_depth"], one["outbox_oldest_age_s"], one["alarms"]) == (4, 37.5, ["outbox_backlog"])
    (lane,) = one["lanes"]
    assert lane == {
        "lane_id": "lane-1",
        "vehicles_per_hour": 3,
        "passed": 2,
        "passed_no_officer_share": 0.5,
        "held": 1,
        "rejected": 1,
        "alarms": [["scale_fault", "scale not stable"]],
    }


def test_search_finds_passages_by_plate_container_declaration_and_time_and_shows_one_whole(
    screen: Screen,
) -> None:
    g1_story(screen.gate("g1"))
    wait_until(stored(screen, 11), what="g1's events")
    client = screen.client("vera")

    def found(**params: str) -> list[str]:
        answer = client.get("/api/v1/search", params=params)
        assert answer.status_code == 200, answer.text
        return [r["tx_id"] for r in answer.json()]

    assert found(plate="51c 12345") == ["tx-pass"]  # typed without the plate's dash and dot
    assert found(container="tghu7654321") == ["tx-held"]
    assert found(declaration="10987654321") == ["tx-held"]
    assert found() == ["tx-rej", "tx-held", "tx-pass"]
    assert found(plate="29H", since="2020-01-01T00:00:00Z", until="2020-01-02T00:00:00Z") == []
    assert found(plate="ZZZ999") == []

    passage = client.get("/api/v1/passages/g1/tx-held").json()
    assert (passage["outcome"], passage["result"], passage["lane_id"]) == ("HOLD", "passed", "lane-1")
    assert passage["reasons"] == [["plate_unreadable", "plate read below the threshold"]]
    assert [r["text"] for r in passage["reads"]] == ["29H-888.01", "TGHU7654321"]
    assert passage["officer_actions"][0] | {"at": None} == {
        "at": None,
        "officer": "olga",
        "action": "approve",
        "reason": "seal checked",
    }
    assert passage["evidence"] == [{"text": "29H-888.01", "sha256": "ab" * 32}]
    assert [e["kind"] for e in passage["events"]] == [
        "transaction.started",
        "transaction.decision",
        "officer.action",
        "transaction.ended",
    ]


def test_the_live_stream_sends_new_events_and_presence_changes(screen: Screen) -> None:
    client = screen.client("vera")
    gate = screen.gate("g7")
    seen: list[tuple[str, object]] = []
    with client.stream("GET", "/api/v1/live", timeout=httpx.Timeout(10)) as stream:
        lines = stream.iter_lines()
        kind = ""
        for line in lines:
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line.removeprefix("data: "))))
                if kind == "hello":
                    gate.presence("online")
                    gate.event("transaction.started", tx_id="tx-live")
                if {k for k, _ in seen} >= {"events", "presence"}:
                    break
    events = next(data for k, data in seen if k == "events")
    assert isinstance(events, list)
    assert [(e["gate_id"], e["kind"], e["tx_id"]) for e in events] == [
        ("g7", "transaction.started", "tx-live")
    ]
    presence = next(data for k, data in seen if k == "presence")
    assert isinstance(presence, list)
    assert presence[0][:2] == ["g7", "online"]


def central_cli(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central", *argv],
        input=stdin,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_user_add_stores_a_hashed_account_and_says_clearly_what_is_wrong(
    screen: Screen, tmp_path: Path
) -> None:
    db = str(screen.db)
    added = central_cli(
        "user",
        "add",
        "--name",
        "lan",
        "--role",
        "viewer",
        "--password-stdin",
        "--db",
        db,
        stdin="lan-password-1\n",
    )
    assert (added.returncode, added.stdout.strip()) == (0, "user lan added (viewer)")
    assert screen.client("vera").get("/api/v1/gates").status_code == 200
    lan = screen.client().post("/api/v1/login", json={"name": "lan", "password": "lan-password-1"})
    assert lan.json()["role"] == "viewer"
    short = central_cli(
        "user", "add", "--name", "kim", "--role", "admin", "--password-stdin", "--db", db, stdin="short\n"
    )
    assert (short.returncode, short.stderr.strip()) == (
        1,
        "central: password must have at least 8 characters",
    )
    twice = central_cli(
        "user",
        "add",
        "--name",
        "lan",
        "--role",
        "admin",
        "--password-stdin",
        "--db",
        db,
        stdin="lan-password-2\n",
    )
    assert twice.stderr.strip() == "central: user 'lan' already exists"
    bad_role = central_cli("user", "add", "--name", "kim", "--role", "root", "--db", db)
    assert bad_role.returncode == 2
    assert "invalid choice: 'root'" in bad_role.stderr
    missing = central_cli("user", "list", "--db", str(tmp_path / "nope.db"))
    assert missing.returncode == 1
    assert "nope.db: no such database" in missing.stderr
    disabled = central_cli("user", "disable", "--name", "lan", "--db", db)
    assert disabled.returncode == 0
    assert "lan\tviewer\tdisabled" in central_cli("user", "list", "--db", db).stdout
    assert (
        screen.client().post("/api/v1/login", json={"name": "lan", "password": "lan-password-1"}).status_code
        == 401
    )
    assert "Traceback" not in short.stderr + twice.stderr + missing.stderr
