"""History search times a UTC clock cannot hold (year 1 an hour east of UTC, year 9999 an hour west):
refused 422 naming the parameter that holds the time, so the user knows which field to fix."""

from __future__ import annotations

import pytest

from tests.kiosk.conftest import KioskGate, as_user

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize(
    ("name", "moment"), [("since", "0001-01-01T00:00:00+01:00"), ("until", "9999-12-31T23:59:59-01:00")]
)
async def test_a_time_out_of_range_is_refused_naming_its_parameter(
    gate: KioskGate, name: str, moment: str
) -> None:
    fine = {"since": "2026-01-01T00:00:00Z", "until": "2026-12-31T00:00:00Z"}
    async with as_user(gate, "olga") as (http, _):
        answer = await http.get("/api/v1/transactions", params={**fine, name: moment})
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["query", name]
    assert error["msg"] == "time out of range"
