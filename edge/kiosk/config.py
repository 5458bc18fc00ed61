"""The kiosk's settings: where it listens, how long a session lives, how failed logins slow down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class KioskConfig(BaseModel):
    """The officer's screen and JSON API, served by the lane daemon."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Serve the kiosk from the daemon.")
    host: str = Field(
        "127.0.0.1", description="Listen address; 127.0.0.1 keeps it on the kiosk PC (use TLS beyond it)."
    )
    port: int = Field(8080, ge=1, le=65535, description="Listen port.")
    session_idle_timeout_s: float = Field(
        900.0, gt=0, le=86400, description="A session with no request for this long must log in again."
    )
    session_max_age_s: float = Field(
        43200.0, gt=0, le=604800, description="A session ends this long after login, whatever its activity."
    )
    tls_cert: Path | None = Field(None, description="PEM certificate; with tls_key, serves HTTPS.")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")
    secure_cookies: bool | None = Field(
        None,
        description="Mark cookies Secure; None means exactly when TLS is configured "
        "(set true behind a TLS-terminating proxy).",
    )
    login_rate_per_minute: int = Field(
        20, ge=1, le=10000, description="Login attempts allowed per client address per minute (then 429)."
    )
    login_free_failures: int = Field(
        3,
        ge=1,
        le=100,
        description="Failed logins for one account from one address before each further attempt from "
        "there must wait (429 with Retry-After); nothing ever locks an account.",
    )
    login_free_failures_per_address: int = Field(
        20,
        ge=1,
        le=10000,
        description="Failed logins from one address, whatever the accounts, before each further attempt "
        "from it must wait.",
    )
    login_account_alarm_failures: int = Field(
        20,
        ge=1,
        le=10000,
        description="Failed logins for one account from all addresses together after which each address "
        "has one free failure for it (nobody ever waits for another address's failures).",
    )
    login_first_delay_s: float = Field(
        1.0,
        gt=0,
        le=3600,
        description="The first wait once the free failures are spent; each failure doubles it.",
    )
    login_max_delay_s: float = Field(300.0, gt=0, le=86400, description="The longest wait between attempts.")
    login_failure_memory_s: float = Field(
        3600.0, gt=0, le=604800, description="Failed logins older than this, with none since, are forgotten."
    )
    max_body_bytes: int = Field(
        65536,
        ge=1024,
        le=16 * 2**20,
        description="Largest request body accepted; a bigger one is answered 413 as it arrives, before "
        "anything parses it.",
    )
    evidence_dir: Path | None = Field(
        None,
        description="Folder of evidence images named <sha256>.jpg/.png, shown with their reads; "
        "null: the store's evidence_dir, where the daemon keeps them.",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> KioskConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        return self

    @model_validator(mode="after")
    def _memory_outlasts_delay(self) -> KioskConfig:
        if self.login_failure_memory_s < self.login_max_delay_s:
            raise ValueError("login_failure_memory_s must be at least login_max_delay_s")
        if self.login_max_delay_s < self.login_first_delay_s:
            raise ValueError("login_max_delay_s must be at least login_first_delay_s")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def cookies_secure(self) -> bool:
        """Secure cookies when served over TLS, unless set explicitly."""
        return self.tls if self.secure_cookies is None else self.secure_cookies
