"""Central's key files: written 0600 and never over another, refused when others can read them or they
hold anything but an Ed25519 key; a signature verifies under its public key only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from edge.cli import main
from sync.config import SyncConfig
from sync.signing_keys import (
    KeyFileError,
    SigningKey,
    load_signing_key,
    parse_public_key,
    verify_signature,
    write_private_key,
)
from tests.sync.conftest import run_module


def test_a_key_written_with_a_loose_umask_is_still_0600_and_reads_back_the_same(tmp_path: Path) -> None:
    key = SigningKey.generate("central-a")
    old = os.umask(0)
    try:
        write_private_key(key, tmp_path / "central-a.key")
    finally:
        os.umask(old)
    assert (tmp_path / "central-a.key").stat().st_mode & 0o777 == 0o600
    loaded = load_signing_key(tmp_path / "central-a.key")
    assert (loaded.key_id, loaded.public_text) == ("central-a", key.public_text)


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "central-a.key"
    write_private_key(SigningKey.generate("central-a"), path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="never overwritten"):
        write_private_key(SigningKey.generate("central-a"), path)
    assert path.read_bytes() == before


def test_a_key_file_every_user_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "central-a.key"
    write_private_key(SigningKey.generate("central-a"), path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="every user"):
        load_signing_key(path)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not a key", "not an unencrypted PEM"),
        (b"x" * 5000, "is not a key file"),
        (
            generate_private_key(SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "not an Ed25519 key",
        ),
    ],
    ids=["garbage", "large", "ecdsa"],
)
def test_anything_but_an_ed25519_private_key_is_refused(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "central-a.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=why):
        load_signing_key(path)


def test_a_signature_verifies_under_its_key_only_and_for_its_bytes_only() -> None:
    key, other = SigningKey.generate("a"), SigningKey.generate("b")
    mark = key.sign(b"payload")
    assert verify_signature(parse_public_key(key.public_text), mark, b"payload")
    assert not verify_signature(parse_public_key(key.public_text), mark, b"payload!")
    assert not verify_signature(parse_public_key(other.public_text), mark, b"payload")
    assert not verify_signature(parse_public_key(key.public_text), "not base64", b"payload")


def test_keys_generate_then_public_give_the_entry_a_gate_configuration_takes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path / "keys"), "--key-id", "hq-2026"]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "keys" / "hq-2026.key").stat().st_mode & 0o777 == 0o600
    assert main(["keys", "public", str(tmp_path / "keys" / "hq-2026.key")]) == 0
    entry = capsys.readouterr().out
    assert entry in printed
    assert entry == (tmp_path / "keys" / "hq-2026.pub").read_text()
    config = SyncConfig.model_validate({"clearance_keys": yaml.safe_load(entry)})
    assert list(config.trusted_clearance_keys()) == ["hq-2026"]
    # a second generate under the same id changes nothing and says why
    assert main(["keys", "generate", "--out", str(tmp_path / "keys"), "--key-id", "hq-2026"]) == 1
    assert "never overwritten" in capsys.readouterr().err


def test_central_refuses_a_signing_key_others_can_read_before_it_connects(tmp_path: Path) -> None:
    path = tmp_path / "central.key"
    write_private_key(SigningKey.generate("central"), path)
    path.chmod(0o604)
    (tmp_path / "none.json").write_text("[]")
    cli = ["clearances", "--port", "1", "--gate", "g1"]
    files = [
        "--db",
        str(tmp_path / "c.db"),
        "--file",
        str(tmp_path / "none.json"),
        "--signing-key",
        str(path),
    ]
    result = run_module("edge.cli.central", *cli, *files)
    assert result.returncode != 0
    assert "--signing-key" in result.stderr
    assert "every user" in result.stderr
