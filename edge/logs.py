"""Logging for a box nobody logs in to: JSON lines on stdout for journald, levels per subsystem, no secrets.

- `configure_logging` installs one stdout handler: ``text`` for a terminal (the demo), ``json`` under systemd
  (one object per line; `journalctl -o cat` gives back pure JSON). When stdout *is* the journal
  (``$JOURNAL_STREAM`` names it), each line starts with a ``<N>`` syslog prefix that journald turns into
  the entry's PRIORITY, so ``journalctl -p warning`` works.
- `log_transaction` writes the one line per transaction, carrying its ``tx_id``; `tx_extra` tags any other
  line with a transaction.
- `RedactingFilter` sits on the handler, so it sees every record from every library: fields named like
  secrets lose their values, and secret-looking text (``password=…``, ``Bearer …``, URL credentials, JWTs,
  private keys, password hashes) is masked in messages, extra fields and tracebacks.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.decision import Decision
from vision.identity import Identification

LevelName = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]

MASK: Final = "***"
TX_LOGGER: Final = "edge.transactions"

# pymodbus logs every failed connect attempt; the I/O driver already reports each outage once.
_DEFAULT_LEVELS: Final[dict[str, LevelName]] = {"pymodbus": "ERROR"}
_LOGGER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class LoggingConfig(BaseModel):
    """Log format and levels of the daemon."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: LogFormat = Field(
        "text",
        description="text for a terminal; json (one object per line) under systemd. "
        "`gate-edge --log-format` overrides it.",
    )
    level: LevelName = Field(
        "INFO",
        description="Level of every logger not named in `levels`; `gate-edge --log-level` overrides it.",
    )
    levels: dict[str, LevelName] = Field(
        default_factory=lambda: dict(_DEFAULT_LEVELS),
        description="Levels per subsystem, by logger name: e.g. devices.modbus_io: DEBUG, sync: WARNING, "
        "edge.transactions: INFO (the one line per transaction).",
    )
    redact_fields: tuple[str, ...] = Field(
        (),
        description="More field names whose values never reach the logs; names with password, token, "
        "secret or key in them are always redacted.",
    )

    @field_validator("levels")
    @classmethod
    def _logger_names(cls, value: dict[str, LevelName]) -> dict[str, LevelName]:
        bad = [name for name in value if not _LOGGER_NAME.match(name)]
        if bad:
            raise ValueError(f"not logger names: {', '.join(map(repr, bad))}")
        return value


# -- redaction ------------------------------------------------------------------------------------------
_SECRET_WORDS: Final = frozenset(
    {"password", "passwd", "passphrase", "pwd", "pass", "token", "secret", "key", "apikey", "credential",
     "credentials", "authorization", "cookie", "psk"}
)  # fmt: skip
_SECRET_PARTS: Final = ("password", "passwd", "secret", "token", "apikey", "credential")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SENSITIVE_NAME_RE = (
    r"[\w.-]*?(?:password|passwd|passphrase|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key|psk)"
    r"[\w.-]*"
)
_TEXT_RULES: Final = (
    # PEM private keys, whole block.
    (re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S), MASK),
    # user:password@ in URLs (mqtts://gate:pw@broker:8883).
    (re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^/\s@]+@", re.I), rf"\1:{MASK}@"),
    # Authorization headers.
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.I), rf"\1 {MASK}"),
    # JSON Web Tokens.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # Password hashes (argon2, bcrypt).
    (re.compile(r"\$(?:argon2(?:id|i|d)|2[aby])\$[^\s\"']+"), MASK),
    # password=..., "token": "...", api_key: ...
    (
        re.compile(rf"({_SENSITIVE_NAME_RE})(\"?'?\s*[:=]\s*\"?'?)([^\s\"',;&}}\]]+)", re.I),
        rf"\1\2{MASK}",
    ),
)


class FailureLog:
    """A repeated failure logs its traceback only the first time per kind: a full disk is no log flood."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._seen: set[str] = set()

    def error(self, what: str, exc: BaseException, msg: str, *args: object) -> None:
        key = f"{what}:{type(exc).__name__}"
        first = key not in self._seen
        self._seen.add(key)
        self._logger.error(msg, *args, exc_info=exc if first else None)


def redact_text(text: str) -> str:
    """`text` with every secret-looking value replaced by ``***``."""
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    """True for field names like password, mqtt_password, apiKey, secret_key, token (not keyboard)."""
    lowered = name.lower()
    if lowered in {e.lower() for e in extra}:
        return True
    if any(part in lowered for part in _SECRET_PARTS):
        return True
    words = set(_NON_ALNUM.split(_CAMEL.sub("_", name).lower()))
    return bool(words & _SECRET_WORDS)


def redact_value(value: Any, extra_names: Iterable[str] = ()) -> Any:
    """A copy of `value` with secret-named keys masked and secret-looking strings redacted, recursively."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: MASK if is_secret_name(str(k), extra_names) else redact_value(v, extra_names)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, extra_names) for v in value]
    return value


_RECORD_FIELDS: Final = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller added with ``extra=``."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS and not k.startswith("_")}


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, extra fields, traceback and stack before any formatter runs."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        super().__init__()
        self._extra = tuple(extra_names)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let logging report it as it always does
            return True
        record.msg, record.args = redact_text(message), None
        for key, value in record_extras(record).items():
            masked = MASK if is_secret_name(key, self._extra) else redact_value(value, self._extra)
            setattr(record, key, masked)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


# -- formatting -----------------------------------------------------------------------------------------
_SYSLOG_PRIORITY: Final = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, tx_id when known, the extra fields, exc."""

    def __init__(self, priority_prefix: bool = False) -> None:
        super().__init__()
        self._prefix = priority_prefix

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extras = record_extras(record)
        if "tx_id" in extras:
            entry["tx_id"] = extras.pop("tx_id")
        for key, value in extras.items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        line = json.dumps(entry, ensure_ascii=False, default=str)
        return _prefixed(line, record) if self._prefix else line


class TextFormatter(logging.Formatter):
    """The demo's human format, with the transaction id when a line has one."""

    def __init__(self, priority_prefix: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._prefix = priority_prefix

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tx_id = getattr(record, "tx_id", None)
        if tx_id:
            line = f"{line} [tx {tx_id}]"
        return _prefixed(line, record) if self._prefix else line


def _prefixed(line: str, record: logging.LogRecord) -> str:
    priority = _SYSLOG_PRIORITY.get(record.levelname, 6)
    # journald makes one entry per line: JSON escapes newlines, so a traceback stays in its entry.
    return f"<{priority}>{line}"


def stream_is_journal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True when `stream` is the journald stream systemd connected (``$JOURNAL_STREAM`` is dev:inode)."""
    env = os.environ if environ is None else environ
    expected = env.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


_HANDLER_MARK: Final = "_gate_edge_handler"
_configured_levels: set[str] = set()


def configure_logging(
    config: LoggingConfig | None = None,
    *,
    fmt: LogFormat | None = None,
    level: str | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install (or replace) the daemon's stdout handler; `fmt` and `level` override the config (CLI flags).

    Calling it again replaces only what it installed, so the CLI can configure from flags first and from
    the config file once that is read. Returns the handler.
    """
    cfg = config or LoggingConfig()
    out = sys.stdout if stream is None else stream
    journal = stream_is_journal(out)
    handler = logging.StreamHandler(out)
    chosen = fmt or cfg.format
    handler.setFormatter(JsonFormatter(journal) if chosen == "json" else TextFormatter(journal))
    handler.addFilter(RedactingFilter(cfg.redact_fields))
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    _remove_handlers(root)
    root.addHandler(handler)
    root_level = (level or cfg.level).upper()
    root.setLevel(logging.getLevelNamesMapping().get(root_level, logging.INFO))
    for name in _configured_levels - set(cfg.levels):
        logging.getLogger(name).setLevel(logging.NOTSET)
    for name, name_level in cfg.levels.items():
        logging.getLogger(name).setLevel(name_level)
    _configured_levels.clear()
    _configured_levels.update(cfg.levels)
    logging.captureWarnings(True)
    return handler


def unconfigure_logging() -> None:
    """Remove what configure_logging installed (its handler, its per-logger levels)."""
    _remove_handlers(logging.getLogger())
    for name in _configured_levels:
        logging.getLogger(name).setLevel(logging.NOTSET)
    _configured_levels.clear()


def _remove_handlers(root: logging.Logger) -> None:
    # Only ours: the test runner's capture handlers and an embedding application's stay.
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()


# -- transactions ---------------------------------------------------------------------------------------
def tx_extra(tx_id: str | None, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a log line about a transaction: ``log.info("...", extra=tx_extra(tx_id))``."""
    return {"tx_id": tx_id, **fields} if tx_id else dict(fields)


def log_transaction(
    tx_id: str,
    result: str,
    *,
    decision: Decision | None = None,
    identification: Identification | None = None,
    weight_kg: float | None = None,
    duration_s: float | None = None,
    logger: logging.Logger | None = None,
    **fields: Any,
) -> None:
    """The one line per finished transaction: its id, result, decision and reasons, reads and weight."""
    target = logger or logging.getLogger(TX_LOGGER)
    extra: dict[str, Any] = {"event": "transaction", "result": result}
    summary = result
    if decision is not None:
        reasons = [str(r) for r in decision.reasons]
        extra.update(decision=str(decision.outcome), reasons=reasons, declaration=decision.declaration_number)
        summary = f"{result}, decision {decision.outcome}" + (f" ({', '.join(reasons)})" if reasons else "")
    if identification is not None:
        extra["plate"] = identification.plate.text if identification.plate else None
        extra["containers"] = [read.text for read in identification.containers]
    if weight_kg is not None:
        extra["weight_kg"] = round(weight_kg, 1)
    if duration_s is not None:
        extra["duration_s"] = round(duration_s, 3)
    extra.update(fields)
    target.info("transaction %s %s", tx_id, summary, extra=tx_extra(tx_id, **extra))
