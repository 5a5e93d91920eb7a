"""Session store settings (the `[sessions]` table of parley.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

THIRTY_DAYS = 30 * 24 * 3600


class SessionSettings(BaseModel):
    """Where conversations are kept, for how long, and how big they may grow."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    store: Literal["sqlite", "postgres", "dynamodb"] = "sqlite"
    """Backend: `sqlite` (one file, one machine), `postgres` or `dynamodb` (shared by replicas)."""
    sqlite_path: Path | None = None
    """SQLite database file; `<data_dir>/sessions.db` when unset."""
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "FULL"
    """SQLite `synchronous` pragma. Both survive a killed process; FULL also survives a power
    cut or OS crash at the cost of one fsync per append."""
    postgres_dsn: str = "postgresql://127.0.0.1:5432/parley"
    """libpq connection string or URL. Put the password in `PGPASSWORD` or `~/.pgpass`, not
    here; a schema can be chosen with `?options=-csearch_path%3Dmyschema`."""
    postgres_pool_min: int = Field(default=1, ge=0, le=1000)
    """Connections the PostgreSQL pool keeps open when idle."""
    postgres_pool_max: int = Field(default=10, ge=1, le=1000)
    """Most connections the PostgreSQL pool opens; callers past it wait for a free one."""
    dynamodb_table: str = Field(default="parley-sessions", pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    """DynamoDB table name; created (on-demand billing) when missing."""
    dynamodb_region: str = "us-east-1"
    """AWS region of the table."""
    dynamodb_endpoint_url: str | None = None
    """Endpoint override, e.g. `http://127.0.0.1:5000` for a local moto or DynamoDB Local."""
    ttl_seconds: int | None = Field(default=THIRTY_DAYS, ge=1)
    """Sessions expire this long after their last change (sliding); unset: never expire."""
    max_turns_per_session: int = Field(default=1000, ge=1, le=100_000)
    """Most turns one session may hold; appending past it is refused."""

    @field_validator("sqlite_path")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("dynamodb_endpoint_url")
    @classmethod
    def _is_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("dynamodb_endpoint_url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _pool_bounds(self) -> SessionSettings:
        if self.postgres_pool_min > self.postgres_pool_max:
            raise ValueError(
                f"postgres_pool_min ({self.postgres_pool_min}) must not exceed "
                f"postgres_pool_max ({self.postgres_pool_max})"
            )
        return self
