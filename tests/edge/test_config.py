"""Configuration: validation names the bad key, unknown keys fail, secrets come from the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, GateConfig, load_config, parse_config
from edge.examples import render_demo, render_site

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_example_files_are_the_rendered_models() -> None:
    assert (ROOT / "config" / "demo.yaml").read_text() == render_demo()
    assert (ROOT / "config" / "example-site.yaml").read_text() == render_site()


@pytest.mark.parametrize("name", ["demo.yaml", "example-site.yaml"])
def test_shipped_example_files_validate(name: str) -> None:
    config = load_config(ROOT / "config" / name)
    assert isinstance(config, GateConfig)


def test_demo_file_equals_embedded_defaults() -> None:
    assert load_config(ROOT / "config" / "demo.yaml") == GateConfig()


def test_missing_required_field_is_named_by_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"devices": {"barrier": {"coils": {"close": 1}}}})
    assert info.value.errors == ["devices.barrier.coils.open: field required"]


def test_unknown_key_is_an_error_not_ignored() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"devices": {"io": {"hots": "10.0.0.1"}}})
    assert info.value.errors == ["devices.io.hots: unknown key (not a setting of this section)"]


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"gate_id": "", "devices": {"io": {"port": 0, "poll_interval_ms": 1}}, "extra": 1})
    paths = sorted(line.split(":")[0] for line in info.value.errors)
    assert paths == ["devices.io.poll_interval_ms", "devices.io.port", "extra", "gate_id"]


def test_rtu_transport_requires_a_serial_port() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"devices": {"io": {"transport": "rtu"}}})
    assert "serial_port is required" in info.value.errors[0]
    assert info.value.errors[0].startswith("devices.io:")


def test_interlock_timing_is_one_setting_and_the_old_lane_keys_say_where_they_moved() -> None:
    with pytest.raises(ConfigError, match="close_hold_s") as info:
        parse_config({"lane": {"close_hold_s": 2.0, "barrier_move_timeout_s": 3.0}})
    assert info.value.errors == [
        "lane.close_hold_s: unknown key (moved to devices.barrier.close_hold_s: one setting for the lane and "
        "the barrier driver)",
        "lane.barrier_move_timeout_s: unknown key (moved to devices.barrier.move_timeout_s: one setting for "
        "the lane and the barrier driver)",
    ]


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATE_ID_FROM_ENV", "gate-from-env")
    assert parse_config({"gate_id": "${GATE_ID_FROM_ENV}"}).gate_id == "gate-from-env"


def test_missing_environment_variable_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_GATE_VAR", raising=False)
    with pytest.raises(ConfigError) as info:
        parse_config({"devices": {"io": {"host": "${NO_SUCH_GATE_VAR}"}}})
    assert info.value.errors == ["devices.io.host: environment variable NO_SUCH_GATE_VAR is not set"]


def test_not_yaml_and_missing_file_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_check_config_cli_exit_codes_and_messages(tmp_path: Path) -> None:
    good = _cli("check-config", str(ROOT / "config" / "example-site.yaml"))
    assert good.returncode == 0, good.stderr
    bad_file = tmp_path / "gate.yaml"
    bad_file.write_text("devices:\n  barrier:\n    coils:\n      close: 1\n  scale:\n    baud: 9600\n")
    bad = _cli("check-config", str(bad_file))
    assert bad.returncode == 1
    assert "devices.barrier.coils.open: field required" in bad.stderr
    assert "devices.scale.baud: unknown key" in bad.stderr
    assert "Traceback" not in bad.stderr
