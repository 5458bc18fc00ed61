"""The systemd units pass `systemd-analyze verify`, keep their hardening, and create the user and dirs.

These run Debian's systemd tools offline against a throw-away root directory (no running systemd is
needed, so they work in a container): the unit, a stub of the installed `gate-edge` executable at its
real path, and a copy of the distribution's units that the service refers to (network-online.target...).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
SERVICE = SYSTEMD_DIR / "gate-edge.service"
SYSUSERS = SYSTEMD_DIR / "sysusers.d" / "gate-edge.conf"
TMPFILES = SYSTEMD_DIR / "tmpfiles.d" / "gate-edge.conf"
EXECUTABLE = "opt/border-gate-edge/venv/bin/gate-edge"
MAX_EXPOSURE = 2.0  # systemd-analyze security: 1.6 "OK" today; a change that weakens it fails here


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: install Debian's systemd package (apt-get install -y systemd)"
    return path


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Section.Key -> values, in order (unit files repeat keys, which configparser refuses)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


@pytest.fixture
def offline_root(tmp_path: Path) -> Path:
    """A root directory holding the unit, the distribution's units, and the executable the unit runs."""
    root = tmp_path / "root"
    system_units = Path("/usr/lib/systemd/system")
    if not system_units.is_dir():
        system_units = Path("/lib/systemd/system")
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(SERVICE, root / "etc/systemd/system/gate-edge.service")
    exe = root / EXECUTABLE
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    return root


def verify(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("systemd-analyze"), "verify", f"--root={root}", "gate-edge.service"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_service_passes_systemd_analyze_verify_without_a_warning(offline_root: Path) -> None:
    result = verify(offline_root)

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_verify_would_catch_an_unknown_directive_or_a_missing_executable(offline_root: Path) -> None:
    unit = offline_root / "etc/systemd/system/gate-edge.service"
    unit.write_text(unit.read_text(encoding="utf-8") + "\n[Service]\nProtectSystm=strict\n", encoding="utf-8")
    (offline_root / EXECUTABLE).unlink()

    result = verify(offline_root)

    assert "Unknown key 'ProtectSystm'" in result.stderr
    assert result.returncode != 0
    assert "is not executable" in result.stderr


def test_the_service_is_a_watched_restarting_notify_service_with_the_issue_hardening() -> None:
    s = unit_settings(SERVICE)

    expected = {
        "Service.Type": ["notify"],
        "Service.NotifyAccess": ["main"],
        "Service.Restart": ["on-failure"],
        "Service.User": ["gate-edge"],
        "Service.SupplementaryGroups": ["dialout"],
        "Service.StateDirectory": ["border-gate-edge"],
        "Service.LogsDirectory": ["border-gate-edge"],
        "Service.ConfigurationDirectory": ["border-gate-edge"],
        "Service.ProtectSystem": ["strict"],
        "Service.PrivateTmp": ["true"],
        "Service.NoNewPrivileges": ["true"],
        "Service.CapabilityBoundingSet": [""],
    }
    for key, values in expected.items():
        assert s.get(key) == values, key
    assert int(s["Service.WatchdogSec"][0]) >= 10
    assert int(s["Service.TimeoutStartSec"][0]) > 60  # beyond the daemon's READY grace for a dead controller
    assert int(s["Unit.StartLimitBurst"][0]) > 1
    assert int(s["Unit.StartLimitIntervalSec"][0]) > 0
    assert "--log-format json" in s["Service.ExecStart"][0]
    assert s["Service.ExecStart"][0].startswith(f"/{EXECUTABLE} ")


def test_the_security_exposure_stays_ok(offline_root: Path) -> None:
    result = subprocess.run(
        [
            tool("systemd-analyze"),
            "security",
            "--offline=true",
            f"--root={offline_root}",
            "gate-edge.service",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    match = re.search(r"Overall exposure level for gate-edge\.service: ([0-9.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_sysusers_and_tmpfiles_create_a_nologin_user_and_private_directories(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)

    subprocess.run([tool("systemd-sysusers"), f"--root={root}", str(SYSUSERS)], check=True, timeout=30)
    subprocess.run(
        [tool("systemd-tmpfiles"), f"--root={root}", "--create", str(TMPFILES)],
        check=True,
        timeout=30,
        capture_output=True,
    )

    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    user = passwd["gate-edge"]
    uid, gid, home, shell = int(user[2]), int(user[3]), user[5], user[6]
    assert uid < 1000  # a system user
    assert (home, shell) == ("/var/lib/border-gate-edge", "/usr/sbin/nologin")
    expectations = {
        "etc/border-gate-edge": (0o750, 0, gid),
        "etc/border-gate-edge/tls": (0o750, 0, gid),
        "var/lib/border-gate-edge": (0o750, uid, gid),
        "var/log/border-gate-edge": (0o750, uid, gid),
    }
    for rel, (mode, owner, group) in expectations.items():
        st = (root / rel).stat()
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, owner, group), rel
