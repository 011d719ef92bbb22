"""Settings: one object, read from the environment with the ``PODIUM_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-this-is-not-a-secret"
DEFAULT_WORKER_TOKEN = "change-me-worker-token"


class Settings(BaseSettings):
    """Every knob of the server. Defaults suit the embedded, single-machine mode."""

    model_config = SettingsConfigDict(env_prefix="PODIUM_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("podium-data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite at $PODIUM_DATA_DIR/podium.db",
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker (redis://...); unset = embedded jobs"
    )
    secret_key: str = DEFAULT_SECRET_KEY
    worker_token: str = DEFAULT_WORKER_TOKEN
    server_url: str = Field(
        default="http://127.0.0.1:8000", description="Where workers reach the server"
    )
    max_upload_mb: int = Field(default=512, ge=1)
    allow_signup: bool = True
    login_max_failures: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_username_ceiling: int = Field(
        default=100,
        ge=1,
        description="Failed logins for one username from all addresses in the window; past "
        "it, only an address that has not failed for that username gets a password checked",
    )
    sqlite_busy_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a SQLite writer waits for the write lock before it fails",
    )
    job_lease_seconds: int = Field(default=120, ge=5)
    job_max_attempts: int = Field(default=3, ge=1)
    job_time_limit_seconds: int = Field(default=600, ge=1)
    job_resend_seconds: int = Field(
        default=300,
        ge=1,
        description="A job still queued this long after it was sent is sent again "
        "(its message may have been lost; a duplicate finds nothing to claim)",
    )
    worker_cache_dir: Path | None = None
    refused_upload_mb_per_day: int = Field(
        default=1024,
        ge=1,
        description="Bytes of refused submission uploads (422, 429) one user may send per "
        "UTC day; past it, uploads get 429 before their body is read",
    )
    blob_gc_interval_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How often each server process deletes blobs no row references "
        "(0: never; `podium-server gc` runs it once)",
    )
    blob_gc_grace_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="Age below which an unreferenced blob is kept (an upload in progress)",
    )
    request_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A client must send a complete request head within this time "
        "(podium-server serve; against slowloris)",
    )
    request_body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest wait for the next chunk of a request body before answering 408",
    )
    sandbox_require_isolation: bool = Field(
        default=True,
        description="Run checkpoint programs (TorchScript, torch.export) only in a fully "
        "isolated sandbox (needs root: other uid, no network, read-only filesystem); "
        "false only on a trusted development machine",
    )
    leaderboard_cache_seconds: float = Field(
        default=0.25,
        ge=0,
        description="How long a server process trusts its cached leaderboard version "
        "(the bound on staleness across processes; 0: read it on every request)",
    )
    public_url: str | None = Field(
        default=None,
        description="Where people reach the pages (https://podium.example.org); "
        "notifications link to it when set",
    )
    webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    webhook_backoff_seconds: float = Field(
        default=2.0, ge=0, description="First retry delay of a webhook post; doubles each time"
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "production":
            weak = []
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                weak.append("PODIUM_SECRET_KEY")
            if self.worker_token == DEFAULT_WORKER_TOKEN or len(self.worker_token) < 32:
                weak.append("PODIUM_WORKER_TOKEN")
            if weak:
                raise ValueError(
                    f"{', '.join(weak)} must be set to a random value of at least 32 characters "
                    "when PODIUM_ENV=production (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`)"
                )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'podium.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache to change them)."""
    return Settings()
