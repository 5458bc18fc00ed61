"""The command line: declarations import, config printing, and clear errors on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.store import Store
from tests.edge.store_config_file import config_file

from .conftest import declaration


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_declarations_import_applies_newer_versions_only(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    file = tmp_path / "decls.json"
    decls = [declaration("1"), declaration("2", plate_text="29A00001")]
    file.write_text(json.dumps([d.model_dump(mode="json") for d in decls]))
    first = _cli("declarations", "import", str(file), "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "2 of 2 declarations applied" in first.stdout
    again = _cli("declarations", "import", str(file), "--config", str(config))
    assert "0 of 2 declarations applied" in again.stdout
    with Store(tmp_path / "gate.db") as store:
        assert store.declarations.count() == 2
        assert [d.number for d in store.declarations.find_by_plate("29A00001")] == ["2"]


def test_declarations_import_names_the_bad_field_and_imports_nothing(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    good = declaration("1").model_dump(mode="json")
    bad = {**declaration("2").model_dump(mode="json"), "channel": "purple"}
    file = tmp_path / "decls.json"
    file.write_text(json.dumps([good, bad]))
    result = _cli("declarations", "import", str(file), "--config", str(config))
    assert result.returncode == 1
    assert "declarations[1].channel" in result.stderr
    assert "Traceback" not in result.stderr
    with Store(tmp_path / "gate.db") as store:
        assert store.declarations.count() == 0


def test_config_schema_is_json_schema_of_the_gate_config() -> None:
    result = _cli("config", "schema")
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False
    assert {"lane", "devices", "decision", "store"} <= set(schema["properties"])


def test_run_with_bad_config_exits_1_with_the_key_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text("devices:\n  io:\n    port: 99999\n")
    result = _cli("run", "--config", str(path))
    assert result.returncode == 1
    assert "devices.io.port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[" * 50_000 + b"]" * 50_000, "nested deeper than 16 levels"),
        (b"[" * 20 + b"]" * 20, "nested deeper than"),
        (b'[{"number": 1' + b"9" * 5000 + b"}]", "cannot read"),
        (bytes(range(256)) * 10, "not UTF-8"),
        (b'{"not": "a list"}', "expected a JSON list"),
    ],
    ids=["very-deep", "deep", "huge-integer", "binary", "not-a-list"],
)
def test_declarations_import_refuses_hostile_files_in_one_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    config = config_file(tmp_path)
    file = tmp_path / "decls.json"
    file.write_bytes(content)
    result = _cli("declarations", "import", str(file), "--config", str(config))
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_declarations_import_of_a_million_bad_items_prints_a_bounded_report(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    file = tmp_path / "decls.json"
    file.write_text("[" + ",".join(["{}"] * 200_000) + "]")
    result = _cli("declarations", "import", str(file), "--config", str(config))
    assert result.returncode == 1
    assert "200000 of 200000 declarations invalid; nothing imported" in result.stderr
    assert len(result.stderr.splitlines()) <= 21


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'a: &a ["x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n'
            b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n",
            "aliases (*name) are not allowed",
        ),
        (b"a: " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (bytes(range(256)) * 10, "not UTF-8"),
        (b"# padding\n" * 200_000, "larger than"),
        (b"kiosk:\n  port: 8081\nlane:\n  lane_id: a\nkiosk:\n  port: 9999\n", "'kiosk' appears twice"),
        (b"kiosk:\n  port: 8081\n  port: 9999\n", "'port' appears twice"),
    ],
    ids=["billion-laughs", "deep", "binary", "huge", "section-twice", "key-twice"],
)
def test_check_config_refuses_hostile_yaml_in_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "gate.yaml"
    path.write_bytes(content)
    result = _cli("check-config", str(path))
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_of_a_pipe_or_a_device_answers_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "gate.yaml"
    os.mkfifo(fifo)  # nobody writes: opening it for reading used to wait forever
    for path in (str(fifo), "/dev/zero"):
        result = _cli("check-config", path)
        assert result.returncode == 1
        assert "(file): not a regular file (a pipe or device): not a gate configuration" in result.stderr
