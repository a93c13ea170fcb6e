"""One settings object for the server, read from flags and `EVALSET_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Server configuration.

    Every field can be set from the environment as `EVALSET_<FIELD>` (for example
    `EVALSET_DATABASE_URL`, `EVALSET_DATA_DIR`, `EVALSET_MAX_BODY_BYTES`); CLI flags win.
    """

    model_config = SettingsConfigDict(env_prefix="EVALSET_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy-style URL (postgresql://... or sqlite:///...); default: SQLite in data_dir.",
    )
    data_dir: Path = Field(default=Path(".evalset"), description="Where the embedded SQLite database lives.")
    max_body_bytes: int = Field(default=32 * MIB, gt=0, description="Largest accepted request body; larger gets 413.")
    admin_password: SecretStr | None = Field(
        default=None, description="Password of the web UI's admin sign-in (every project, every scope)."
    )
    admin_password_file: Path | None = Field(default=None, description="A file holding the admin password.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Server log level; every request is logged at info, 4xx at warning, 5xx at error."
    )
    trace_retention_days: int = Field(
        default=30, ge=0, description="Traces that started longer ago than this are deleted (hourly); 0 keeps them."
    )
    trace_queue_spans: int = Field(
        default=100_000,
        gt=0,
        description="Spans received and not yet written that the server holds; beyond it, exports get 503.",
    )
    public_url: str | None = Field(
        default=None,
        description="This server's address as people reach it (the links GET /v1/info gives the logfire SDK); "
        "default: the address each request came in on.",
    )
    log_format: Literal["text", "json"] = Field(default="text", description="Server log lines as text or JSON.")

    def resolved_database_url(self) -> str:
        """The database URL to connect to: the configured one, else the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'evalset.db').resolve()}"

    def resolved_admin_password(self) -> str | None:
        """The admin password: from admin_password_file (first line) if set, else admin_password, else None."""
        if self.admin_password_file is not None:
            text = self.admin_password_file.read_text(encoding="utf-8").strip()
            return text or None
        if self.admin_password is not None:
            return self.admin_password.get_secret_value() or None
        return None
