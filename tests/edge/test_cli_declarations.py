"""`gate-edge declarations import`: normalises what it can, refuses the rest by key path, imports all or
nothing, and says which store it tried when there is none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.store import Store
from tests.edge.store_config_file import config_file

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def _entry(number: str, **changes: Any) -> dict[str, Any]:
    return {
        "number": number,
        "status": "cleared",
        "channel": "green",
        "plates": ["51C12345"],
        "containers": [{"number": "MSKU3866036", "seal": "VN123456"}],
        "gross_kg": 28000,
        "valid_from": "2025-03-01T00:00:00+07:00",
        "valid_until": "2025-03-08T00:00:00+07:00",
    } | changes


def _import(tmp_path: Path, entries: list[dict[str, Any]]) -> tuple[subprocess.CompletedProcess[str], Path]:
    file = tmp_path / "decls.json"
    file.write_text(json.dumps(entries, ensure_ascii=False))
    return _cli("declarations", "import", str(file), "--config", str(config_file(tmp_path))), file


def _stored(tmp_path: Path) -> int:
    with Store(tmp_path / "gate.db") as store:
        return store.declarations.count()


def test_a_plate_and_a_container_written_with_separators_are_stored_as_a_read_matches_them(
    tmp_path: Path,
) -> None:
    result, _ = _import(
        tmp_path, [_entry("1", plates=["51f-446.14"], containers=[{"number": "oolu 497128-0"}])]
    )
    assert result.returncode == 0, result.stderr
    assert "1 of 1 declarations applied" in result.stdout
    with Store(tmp_path / "gate.db") as store:
        [decl] = store.declarations.find_by_plate("51F44614")
        assert [c.number for c in decl.containers] == ["OOLU4971280"]
        assert [d.number for d in store.declarations.find_by_container("OOLU4971280")] == ["1"]


def test_each_error_is_named_by_its_key_path_and_nothing_is_imported(tmp_path: Path) -> None:
    entries = [
        _entry("GOOD"),
        _entry("2", containers=[{"number": "MSKU3866036"}, {"number": "OOLU4971287"}]),
        _entry("3", valid_from="2025-03-08T00:00:00Z", valid_until="2025-03-01T00:00:00Z"),
        _entry("4", valid_from="2025-03-01T00:00:00"),
        _entry("5", containers=[{"number": "MSKU38660"}]),
        _entry("GOOD"),
        _entry("7", plates=["51С12345"]),  # a Cyrillic С
    ]
    result, file = _import(tmp_path, entries)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines == [
        f"{file}: declarations[1].containers[1].number: check digit 7, expected 0",
        f"{file}: declarations[2].valid_until: 2025-03-01T00:00:00+00:00 is before valid_from "
        "2025-03-08T00:00:00+00:00: the declaration would never be valid",
        f"{file}: declarations[3].valid_from: a time needs its UTC offset (2025-03-01T00:00:00+07:00, or Z "
        "for UTC): the gate compares it with its own clock",
        f"{file}: declarations[4].containers[0].number: 'MSKU38660' is not a container number: owner code "
        "(3 letters), category (U, J or Z), serial (6 digits), check digit",
        f"{file}: declarations[5].number: declaration GOOD is also declarations[0]: one entry per "
        "declaration",
        f"{file}: declarations[6].plates[0]: U+0421 CYRILLIC CAPITAL LETTER ES is not a plate character: a "
        "plate is A-Z, 0-9 and Chinese characters, with spaces, dashes, dots, middle dots or slashes between "
        "them",
        f"{file}: 6 of 7 declarations invalid; nothing imported",
    ]
    assert _stored(tmp_path) == 0


def test_a_plate_of_none_of_the_lanes_forms_is_imported_with_a_note(tmp_path: Path) -> None:
    result, file = _import(tmp_path, [_entry("LAO", plates=["1234"])])
    assert result.returncode == 0, result.stderr
    assert (
        f"{file}: note: declarations[0].plates[0]: 1234 has none of this lane's plate forms (vietnam): no "
        "camera read will match it; its vehicle is held for an officer"
    ) in result.stderr
    assert _stored(tmp_path) == 1


def test_import_from_a_folder_without_the_store_names_the_path_tried_and_what_to_pass(tmp_path: Path) -> None:
    file = tmp_path / "decls.json"
    file.write_text(json.dumps([_entry("1")]))
    result = _cli("declarations", "import", str(file), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"var/gate.db (relative to {tmp_path}): no such folder var (store.path of the embedded defaults: no "
        "--config given). Run this from the gate's folder, or pass --config with the gate's configuration or "
        "--db with its store file\n"
    )
    assert not (tmp_path / "var").exists()


def test_import_into_the_store_named_by_db(tmp_path: Path) -> None:
    file = tmp_path / "decls.json"
    file.write_text(json.dumps([_entry("1")]))
    result = _cli("declarations", "import", str(file), "--db", str(tmp_path / "gate.db"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _stored(tmp_path) == 1


def test_audit_verify_without_a_store_names_the_path_tried_and_what_to_pass(tmp_path: Path) -> None:
    result = _cli("audit", "verify", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"var/gate.db (relative to {tmp_path}): no such store (store.path of the embedded defaults: no "
        "--config given). Run this from the gate's folder, or pass --config"
    )
    config = config_file(tmp_path)
    named = _cli("audit", "verify", "--config", str(config), cwd=tmp_path)
    assert named.stderr.startswith(f"{tmp_path / 'gate.db'}: no such store (store.path of {config})")
    assert "Traceback" not in result.stderr + named.stderr


def test_help_documents_the_file_format() -> None:
    result = _cli("declarations", "import", "--help")
    assert result.returncode == 0
    for field in ("number", "status", "channel", "plates", "containers", "gross_kg", "valid_from", "version"):
        assert f"\n  {field} " in result.stdout
    assert "check digit 7, expected 0" in result.stdout
    assert '"valid_until": "2025-03-08T00:00:00+07:00"' in result.stdout


def test_a_pipe_a_device_or_a_folder_is_refused_at_once_without_waiting_for_a_writer(tmp_path: Path) -> None:
    config = str(config_file(tmp_path))
    fifo = tmp_path / "decls.json"
    os.mkfifo(fifo)  # nobody writes: opening it for reading used to wait forever
    for path in (str(fifo), "/dev/zero", str(tmp_path)):
        result = _cli("declarations", "import", path, "--config", config)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"{path}: cannot read: not a regular file (a pipe, device or folder); give the declarations file"
        )


def test_a_file_saved_with_a_utf8_byte_order_mark_imports(tmp_path: Path) -> None:
    file = tmp_path / "decls.json"
    file.write_bytes(b"\xef\xbb\xbf" + json.dumps([_entry("1")]).encode())  # Excel's and Notepad's UTF-8
    result = _cli("declarations", "import", str(file), "--config", str(config_file(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert _stored(tmp_path) == 1


def test_an_expired_or_future_declaration_is_imported_with_a_note_saying_no_vehicle_passes_on_it(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    current = {
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=1)).isoformat(),
    }
    result, file = _import(
        tmp_path,
        [
            _entry("OLD"),  # the example's 2025 dates, copied as they are
            _entry("NEXT", valid_from="2999-01-01T00:00:00Z", valid_until="2999-01-02T00:00:00Z"),
            _entry("NOW", **current),
        ],
    )
    assert result.returncode == 0, result.stderr
    assert "3 of 3 declarations applied" in result.stdout
    notes = [line for line in result.stderr.splitlines() if "no vehicle passes on it now" in line]
    assert notes == [
        f"{file}: note: declarations[0]: valid_until 2025-03-08T00:00:00+07:00 has passed: "
        "no vehicle passes on it now",
        f"{file}: note: declarations[1]: valid_from 2999-01-01T00:00:00+00:00 is still to come: "
        "no vehicle passes on it now",
    ]
    assert _stored(tmp_path) == 3
