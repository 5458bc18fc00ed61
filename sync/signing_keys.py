"""Ed25519 keys for the clearance feed: central signs with a private key file, gates trust public keys by id.

A gate holds no secret for the feed: only public keys, each under an id, so a key is rotated by adding the new
one to every gate, switching central to it, then removing the old one. A private key lives in one PEM file
(PKCS#8, unencrypted: the file's permissions protect it), written with mode 0600 and never over an existing
file; a public key travels as the base64 of its 32 raw bytes, short enough for a YAML line.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PUBLIC_KEY_PATTERN = r"^[A-Za-z0-9+/]{43}=$"  # base64 of 32 bytes
SIGNATURE_PATTERN = r"^[A-Za-z0-9+/]{86}==$"  # base64 of 64 bytes
MAX_KEY_FILE_BYTES = 4096


class KeyFileError(Exception):
    """A key file that cannot be used; the message names the file and why."""


def check_key_id(key_id: str) -> str:
    if not re.fullmatch(KEY_ID_PATTERN, key_id):
        raise ValueError(
            f"key id {key_id!r}: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return key_id


def public_key_text(key: Ed25519PublicKey) -> str:
    """The base64 of the key's 32 raw bytes: what a gate's ``clearance_keys`` entry holds."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key from its base64 text; ValueError saying what is wrong with it."""
    if not re.fullmatch(PUBLIC_KEY_PATTERN, text):
        raise ValueError("an Ed25519 public key is the base64 of 32 bytes (44 characters ending in '=')")
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not an Ed25519 public key: {exc}") from None


def verify_signature(key: Ed25519PublicKey, signature_b64: str, data: bytes) -> bool:
    """True if ``signature_b64`` (base64 of 64 bytes) is the key's signature of ``data``."""
    if not re.fullmatch(SIGNATURE_PATTERN, signature_b64):
        return False
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, binascii.Error):
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    """Central's private key and the id the gates know its public half by."""

    key_id: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, key_id: str) -> SigningKey:
        return cls(check_key_id(key_id), Ed25519PrivateKey.generate())

    @property
    def public_text(self) -> str:
        return public_key_text(self.private.public_key())

    def sign(self, data: bytes) -> str:
        """The base64 Ed25519 signature of ``data``."""
        return base64.b64encode(self.private.sign(data)).decode()

    def trusted_entry(self) -> str:
        """The YAML list item a gate's ``sync.clearance_keys`` takes for this key."""
        return f'- key_id: "{self.key_id}"\n  public_key: "{self.public_text}"\n'


def write_private_key(key: SigningKey, path: Path) -> None:
    """Write the key as PEM with mode 0600; an existing file is never overwritten (KeyFileError)."""
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; a key file is never overwritten") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_signing_key(path: Path, key_id: str | None = None) -> SigningKey:
    """Central's signing key from a PEM file; its id defaults to the file name without its suffix.

    Refused (KeyFileError): a file others may read or write, a large file, anything but an Ed25519 key.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{path}: not a regular file")
        if info.st_mode & 0o007:
            raise KeyFileError(f"{path}: readable or writable by every user: chmod 0600 (or 0640) it first")
        if info.st_size > MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"{path}: {info.st_size} bytes is not a key file")
        pem = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    name = key_id if key_id is not None else path.name.removesuffix(".key").removesuffix(".pem")
    try:
        return SigningKey(check_key_id(name), private)
    except ValueError as exc:
        raise KeyFileError(f"{path}: {exc}; name the id with --key-id") from None
