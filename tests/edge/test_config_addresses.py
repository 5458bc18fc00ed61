"""check-config refuses an empty file and two points of one kind on one address, naming the key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.config import ConfigError, GateConfig, load_config, parse_config

WAIVED = {"io": {"watchdog": {"enabled": False, "waive_reason": "test lane"}}}


def _errors(devices: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({"devices": {**WAIVED, **devices}}, "gate.yaml")
    return caught.value.errors


@pytest.mark.parametrize(
    ("devices", "expected"),
    [
        pytest.param(
            {"barrier": {"coils": {"open": 0, "close": 0}}},
            "devices.barrier.coils.close: coil 0 is also devices.barrier.coils.open: each output needs an "
            "address of its own",
            id="open-and-close-one-coil",
        ),
        pytest.param(
            {"light": {"coils": {"green": 5, "red": 1}}},
            "devices.light.coils.red: coil 1 is also devices.barrier.coils.close",
            id="lamp-on-the-close-coil",
        ),
        pytest.param(
            {"barrier": {"limits": {"up": 3, "down": 3}}},
            "devices.barrier.limits.down: discrete input 3 is also devices.barrier.limits.up",
            id="both-limit-switches-one-input",
        ),
        pytest.param(
            {"detectors": {"photocell": 1}},
            "devices.detectors.photocell: discrete input 1 is also devices.detectors.exit_loop",
            id="photocell-on-the-exit-loop",
        ),
        pytest.param(
            {"detectors": {"entry_loop": 4}},
            "devices.detectors.entry_loop: discrete input 4 is also devices.barrier.limits.down",
            id="loop-on-a-limit-switch",
        ),
        pytest.param(
            {"counters": {"exit_loop": 7, "photocell": 7}},
            "devices.counters.photocell: input register 7 is also devices.counters.exit_loop",
            id="two-counters-one-register",
        ),
        pytest.param(
            # The red lamp's safe value at 4090 + 6: WAGO's watchdog time register (0x1000).
            {"io": {"watchdog": {"safe_values_register": 4090}}},
            "devices.io.watchdog.safe_values_register: holding register 4096 (+ light.coils.red) is also "
            "devices.io.watchdog.timeout_register",
            id="safe-values-over-the-watchdog-time",
        ),
    ],
)
def test_two_points_on_one_address_are_refused_naming_the_key(devices: dict[str, Any], expected: str) -> None:
    (line,) = _errors(devices)
    assert line.startswith(expected), line


def test_the_default_points_each_have_their_own_address() -> None:
    assert GateConfig().devices.barrier.coils.open != GateConfig().devices.barrier.coils.close
    parse_config({"devices": WAIVED})  # no error


@pytest.mark.parametrize(
    "content", ["", "\n\n", "# a gate\n# nothing set yet\n"], ids=["empty", "blank", "comments"]
)
def test_an_empty_configuration_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors == [
        "(file): empty: a gate configuration names at least its gate, lane and devices "
        "(`gate-edge config example --site` prints one to start from)"
    ]


def test_check_config_refuses_an_empty_file_and_one_coil_for_open_and_close(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    shared = tmp_path / "shared.yaml"
    shared.write_text(
        "devices:\n  io:\n    watchdog: {enabled: false, waive_reason: test}\n"
        "  barrier:\n    coils: {open: 2, close: 2}\n"
    )
    for path, expected in [(empty, "(file): empty"), (shared, "devices.barrier.coils.close: coil 2 is also")]:
        result = subprocess.run(
            [sys.executable, "-m", "edge.cli", "check-config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert expected in result.stderr
        assert f"{path}: 1 error(s)" in result.stderr
        assert "Traceback" not in result.stderr
