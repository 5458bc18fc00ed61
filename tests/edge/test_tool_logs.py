"""The installer's tools log on stderr at their --log-level: pymodbus's own ERROR lines (a request that
got no answer) repeat the command's words about the fault, so they show only when a level is asked for."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest
from pymodbus.logging import Log

from edge.cli.tool_logs import tool_logging
from edge.config import GateConfig
from edge.logs import unconfigure_logging

NO_ANSWER = "No response received after 3 retries, continue with next request"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    unconfigure_logging()


def _run_tool(level: str | None, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    tool_logging(argparse.Namespace(log_level=level, log_format="text"), GateConfig())
    # As pymodbus's transaction manager says it (once: it folds a repeated line into "Repeating....").
    Log.error(f"{NO_ANSWER} ({level})")  # type: ignore[no-untyped-call]
    return capsys.readouterr().err


def test_pymodbus_errors_stay_off_a_tools_stderr_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert NO_ANSWER not in _run_tool(None, capsys)


@pytest.mark.parametrize("level", ["DEBUG", "ERROR"])
def test_pymodbus_errors_show_at_a_log_level_asked_for(
    level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert NO_ANSWER in _run_tool(level, capsys)
