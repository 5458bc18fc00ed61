"""The kiosk's settings: where it listens, how long a session lives, when an account locks."""

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
    lockout_after: int = Field(5, ge=1, le=100, description="Consecutive failed logins that lock an account.")
    lockout_s: float = Field(300.0, gt=0, le=86400, description="How long a locked account stays locked.")
    login_rate_per_minute: int = Field(
        20, ge=1, le=10000, description="Login attempts allowed per client address per minute (then 429)."
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

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def cookies_secure(self) -> bool:
        """Secure cookies when served over TLS, unless set explicitly."""
        return self.tls if self.secure_cookies is None else self.secure_cookies
