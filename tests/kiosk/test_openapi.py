"""Schemathesis against the OpenAPI document the running kiosk serves: no 500s, no schema violations.

The fuzzer is authenticated as an officer (session cookie and CSRF header), so it reaches the handlers
rather than bouncing off 401. It runs in a worker thread (schemathesis calls are blocking) while the
daemon's loop serves it. The live event stream never ends and logout would end the fuzzer's own
session, so those two are left out. A second run puts hostile strings into the generated bodies (lone
surrogates, control and bidi characters, lengths past every limit and past the body cap), which a
browser never sends and the schema's own strategies never draw.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from edge.kiosk.sessions import CSRF_HEADER, SESSION_COOKIE
from edge.lane import LaneState
from tests.kiosk.conftest import PASSWORDS, KioskGate, camera_read, declaration

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = 30

_BAD_CHARACTERS = ["\ud800", "\udfff", "\x00", "\x1b[2J", "\n", "\x85", "\u202e", "\u2028"]
HOSTILE_TEXT = st.one_of(
    st.text(st.characters(categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1, max_size=6),
    st.tuples(st.text(max_size=6), st.sampled_from(_BAD_CHARACTERS), st.text(max_size=6)).map("".join),
    st.sampled_from([65, 257, 501, 70_000, 2_000_000]).map(lambda n: "é" * n),  # past each limit, the cap
)


def make_hostile(case: Any, data: st.DataObject) -> None:
    """Swap some of the generated body's strings (and strings in its lists) for hostile ones."""
    if not isinstance(case.body, dict):
        return
    for key, value in case.body.items():
        if isinstance(value, str) and data.draw(st.booleans()):
            case.body[key] = data.draw(HOSTILE_TEXT)
        elif isinstance(value, list) and value and data.draw(st.booleans()):
            case.body[key] = [data.draw(HOSTILE_TEXT) if isinstance(item, str) else item for item in value]


def fuzz(
    base_url: str, cookie: str, csrf: str, methods: frozenset[str], *, hostile: bool = False
) -> list[str]:
    """Run the generated cases of every operation with one of `methods`; one line per failing operation.

    With `hostile`, some strings of each generated body are swapped for hostile ones first.
    """
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json").exclude(
        path_regex=r"^/api/v1/(events|logout)$"
    )
    failures: list[str] = []
    labels: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.method.upper() not in methods:
            continue
        labels.append(operation.label)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def check(case: Any, data: st.DataObject) -> None:
            if hostile:
                make_hostile(case, data)
            response = case.call(
                base_url=base_url, headers={CSRF_HEADER: csrf}, cookies={SESSION_COOKIE: cookie}
            )
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert labels, "no operation selected"
    return failures


def lane_state(gate: KioskGate) -> LaneState:
    return gate.daemon.view.state


async def session_of(gate: KioskGate, name: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=gate.base_url) as http:
        login = await http.post("/api/v1/login", json={"name": name, "password": PASSWORDS[name]})
        return login.cookies[SESSION_COOKIE], login.json()["csrf_token"]


async def test_every_api_operation_answers_within_its_schema_and_never_with_a_500(gate: KioskGate) -> None:
    cookie, csrf = await session_of(gate, "olga")
    everything = frozenset({"GET", "POST"})
    assert await asyncio.to_thread(fuzz, gate.base_url, cookie, csrf, everything) == []
    assert lane_state(gate) is LaneState.IDLE  # an officer's fuzzed actions never moved the lane

    # Again with a truck held and a supervisor's reads: the vehicle, its reasons and the audit trail.
    decl = declaration(21)
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate="51G10021"), 28_000)
    await gate.wait_state(LaneState.HOLD)
    cookie, csrf = await session_of(gate, "sam")
    assert await asyncio.to_thread(fuzz, gate.base_url, cookie, csrf, frozenset({"GET"})) == []
    assert lane_state(gate) is LaneState.HOLD
    gate.daemon.officer.reject("sam", "test over")
    await gate.back_out()


async def test_hostile_strings_in_any_body_get_a_4xx_within_the_schema_never_a_500(gate: KioskGate) -> None:
    cookie, csrf = await session_of(gate, "olga")
    audited = len(gate.daemon.store.audit.records())
    failures = await asyncio.to_thread(fuzz, gate.base_url, cookie, csrf, frozenset({"POST"}), hostile=True)
    assert failures == []
    assert lane_state(gate) is LaneState.IDLE
    assert len(gate.daemon.store.audit.records()) == audited  # nothing hostile reached the record
