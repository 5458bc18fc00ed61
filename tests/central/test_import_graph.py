"""The gate never imports the central office, and central on SQLite needs no PostgreSQL driver.

A gate box installs border-gate-edge without the ``central`` extra: if edge/, devices/, vision/, sync/ or
pacing/ imported central (or psycopg) at start, the gate would carry the office's code and driver, or fail
to start without them. Checked twice: by what a fresh interpreter loads, and by reading the sources.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GATE_PACKAGES = ("edge", "devices", "vision", "sync", "pacing")
# Modules that may import central inside a function (never at module level): the alias command that runs
# central's CLI, and the demo, which plays the central office beside its gate.
LAZY_CENTRAL_ALLOWED = ("edge/cli/central.py", "edge/demo/")

# Refuses psycopg in the process that reads it (a box without the `central` extra).
_NO_PSYCOPG = """
import sys
class _NoPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "psycopg":
            raise ImportError("No module named 'psycopg' (test: the central extra is not installed)")
        return None
sys.meta_path.insert(0, _NoPsycopg())
"""


def python(
    code: str, *, no_psycopg: bool = False, tmp: Path | None = None
) -> subprocess.CompletedProcess[str]:
    path = [str(REPO)]
    if no_psycopg:
        assert tmp is not None
        (tmp / "sitecustomize.py").write_text(_NO_PSYCOPG, encoding="utf-8")
        path.insert(0, str(tmp))
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        cwd=tmp or REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_gate_daemon_its_cli_and_the_demo_module_load_neither_central_nor_psycopg() -> None:
    code = (
        "import json, sys\n"
        "import edge.daemon, edge.uplink, edge.demo.runner\n"
        "from edge.cli import build_parser\n"
        "parser = build_parser()\n"
        "parser.parse_args(['central', 'report', '--db', 'x.db'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('central', 'psycopg'))))\n"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(module imported, at module level?) for every import in ``tree``, TYPE_CHECKING blocks excluded."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.orelse:
                    visit(stmt, top)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module, top))
            inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, inner)

    visit(tree, True)
    return found


def _sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (REPO / package).rglob("*.py"))


def test_no_gate_module_imports_central_or_psycopg_at_module_level() -> None:
    wrong = []
    for path in _sources(*GATE_PACKAGES):
        rel = path.relative_to(REPO).as_posix()
        for module, top in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            root = module.split(".")[0]
            if root == "psycopg" or (root == "central" and (top or not rel.startswith(LAZY_CENTRAL_ALLOWED))):
                wrong.append(f"{rel}: {module}{' (module level)' if top else ''}")
    assert wrong == []


def test_central_imports_neither_the_gate_nor_its_hardware_and_psycopg_only_in_its_postgres_store() -> None:
    wrong = []
    for path in _sources("central"):
        rel = path.relative_to(REPO).as_posix()
        for module, top in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            root = module.split(".")[0]
            if root in ("edge", "devices", "vision"):  # the libraries (sync, pacing, webauth) it may use
                wrong.append(f"{rel}: {module}")
            if root == "psycopg" and top and rel != "central/store_pg.py":
                wrong.append(f"{rel}: {module} (module level)")
    assert wrong == []


def test_the_scan_sees_a_module_level_central_import_and_allows_one_in_a_function() -> None:
    tree = ast.parse(
        "from central.receiver import Central\n"
        "if TYPE_CHECKING:\n    import central.settings\n"
        "def f():\n    import central.cli\n"
    )
    assert _imports(tree) == [("central.receiver", True), ("central.cli", False)]


def test_central_on_sqlite_runs_without_psycopg_and_a_postgres_url_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import json, uuid\n"
        "from datetime import UTC, datetime\n"
        "from central.cli import build_parser\n"
        "from central.receiver import Central\n"
        "from central.settings import CentralSettings, open_store\n"
        "from sync.config import BrokerConfig\n"
        "from sync.contract import SCHEMA_VERSION, EventEnvelope\n"
        "at = datetime(2025, 3, 1, tzinfo=UTC)\n"
        "store = open_store(db_path='central.db')\n"
        "event = EventEnvelope(schema_version=SCHEMA_VERSION, event_id=uuid.uuid4(), gate_id='g1', seq=1,"
        " prev_seq=None, kind='k', at=at, payload={})\n"
        "store.store_event(event, '{}', 'central-1', at)\n"
        "print(json.dumps(store.report()['gates']['g1']['events']))\n"
        "try:\n"
        "    CentralSettings(broker=BrokerConfig(), db_url='postgresql://c@db/x')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    result = python(code, no_psycopg=True, tmp=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "1"
    assert (
        lines[1]
        == "PostgreSQL needs psycopg: pip install 'border-gate-edge[central]' (for postgresql://c@db/x)"
    )

    cli = python(
        "from central.cli import main; main(['report', '--db-url', 'postgresql://c@db/x'])",
        no_psycopg=True,
        tmp=tmp_path,
    )
    assert cli.returncode == 1
    assert cli.stderr.strip() == (
        "central: PostgreSQL needs psycopg: pip install 'border-gate-edge[central]' (for postgresql://c@db/x)"
    )


@pytest.mark.parametrize("argv", [["central", "--help"], ["central", "report", "--help"]])
def test_gate_edge_central_is_gate_central_under_another_name(argv: list[str]) -> None:
    alias = subprocess.run(
        [sys.executable, "-m", "edge.cli", *argv],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    own = subprocess.run(
        [sys.executable, "-m", "central", *argv[1:]],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert alias.returncode == own.returncode == 0, alias.stderr + own.stderr
    assert alias.stdout.startswith("usage: gate-edge central")
    assert own.stdout.startswith("usage: gate-central")
    # the same text, wrapped to the longer program name
    assert " ".join(alias.stdout.replace("gate-edge central", "gate-central").split()) == " ".join(
        own.stdout.split()
    )
