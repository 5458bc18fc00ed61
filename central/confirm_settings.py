"""Where and how central delivers exit confirmations: the clearance system's endpoint, timeouts, retries.

Validated when central starts, so a wrong URL is an error naming the setting, not a silent backlog. The
endpoint must be https: the body names declarations, plates and containers, and the signature proves who
sent it but hides nothing. Plain http is taken only with ``allow_http`` (tests, a receiver on the same
machine), and said so in the log.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ConfirmationSettings(BaseModel):
    """central.confirmations: the clearance system's endpoint and how hard central tries to reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(
        description="URL central POSTs each confirmation to (https; http only with allow_http)."
    )
    allow_http: bool = Field(
        False, description="Accept an http:// endpoint (tests only: nothing is encrypted)."
    )
    ca_file: Path | None = Field(None, description="CA certificate (PEM) of a private https endpoint.")
    timeout_s: float = Field(
        10.0, gt=0, le=120, description="Give up one attempt (connect, send, each read) after this."
    )
    retry_min_s: float = Field(1.0, gt=0, le=3600, description="First wait after a failed attempt.")
    retry_max_s: float = Field(300.0, gt=0, le=86400, description="Longest wait between attempts.")
    poll_s: float = Field(
        5.0, gt=0, le=3600, description="How often to look for confirmations due (one arriving wakes it)."
    )
    batch: int = Field(100, ge=1, le=10_000, description="Confirmations read per look.")

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("the URL holds a user name or password, which would show in logs; leave it out")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ConfirmationSettings:
        if urlsplit(self.endpoint).scheme == "http" and not self.allow_http:
            raise ValueError(
                f"endpoint {self.endpoint!r} is plain http: confirmations travel unencrypted; use https,"
                " or set allow_http (--confirm-allow-http) for a test receiver"
            )
        if self.retry_max_s < self.retry_min_s:
            raise ValueError(f"retry_max_s {self.retry_max_s} is below retry_min_s {self.retry_min_s}")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {self.ca_file}: no such file")
        return self
