"""Sections of the config file that stand alone: privacy, the catalog, the sandbox, the executor.

Each is a pydantic model that forbids unknown keys; :mod:`catalog_synth.core.config` puts them
together with the warehouses, tables and rebalance requests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataHubRestConfig(Section):
    # GMS URL and token; unset, they come from $DATAHUB_GMS_URL and $DATAHUB_GMS_TOKEN.
    server: str | None = None
    token: SecretStr | None = None
    mode: Literal["restli", "openapi"] = "restli"
    # Also write profiles to datasets DataHub does not know yet (creates them).
    create_missing: bool = False
    batch_size: int = Field(default=100, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Retries of 429/5xx answers and refused connections (exponential back-off).
    retries: int = Field(default=3, ge=0)


class CatalogConfig(Section):
    file: Path | None = Path(".catalog-synth/datahub-mcps.json")
    datahub: DataHubRestConfig | None = None
    # Base URL of the SQL sandbox, for links and the Preview tab embed.
    sandbox_url: str | None = None
    # Third-party sinks by entry-point name (group catalog_synth.sinks) with their settings.
    sinks: dict[str, dict[str, Any]] = Field(default_factory=dict)


class PrivacyConfig(Section):
    # Categories seen fewer than this many times in the sample are never emitted verbatim.
    min_category_count: int = Field(default=5, ge=1)
    # Largest acceptable share of synthetic rows closer to training rows than to held-out rows.
    dcr_threshold: float = Field(default=0.55, gt=0.0, le=1.0)
    holdout_share: float = Field(default=0.2, gt=0.0, lt=0.9)
    # Columns whose distinct share in the sample reaches this are identifier-like.
    unique_share: float = Field(default=0.9, gt=0.0, le=1.0)
    # Fewest sample rows a table needs to be learnt by the model; smaller tables are generated
    # column by column (fakes, replaced categories, numbers and dates over the real range).
    min_rows: int = Field(default=10, ge=1)
    # Small lookup tables that other tables reference and that describe no one keep their labels.
    reference_tables: bool = True
    reference_max_rows: int = Field(default=1000, ge=1)
    # With a connector that cannot count values in the whole warehouse or look rows up by key,
    # synthesize anyway, checking fakes against the sample only (otherwise such tables are refused).
    allow_sample_only_checks: bool = False


class SandboxConfig(Section):
    # The descriptions are what `catalog-synth serve --help` lists.
    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8765, ge=1, le=65535, description="Port to listen on.")
    row_limit: int = Field(default=10_000, ge=1, description="Most rows a query returns.")
    max_response_bytes: int = Field(
        default=20_000_000, ge=1024, description="Largest result a query returns, in bytes."
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time limit of a query, and the longest it waits for a free slot."
    )
    max_concurrent_queries: int = Field(default=8, ge=1, description="Queries running at once, all clients together.")
    max_queries_per_client: int | None = Field(
        default=None,
        ge=1,
        description="Queries one client (bearer token, or IP address without tokens) runs or waits for at once; "
        "more get HTTP 429. Default: half of max_concurrent_queries, at least 1.",
    )
    memory_limit: str = Field(default="1GB", description="DuckDB's memory limit.")
    threads: int = Field(default=2, ge=1, description="DuckDB's threads.")
    max_temp_directory_size: str = Field(default="1GB", description="Most disk DuckDB spills to.")
    token_hashes: list[str] = Field(
        default_factory=list,
        description="SHA-256 hex digests of the accepted bearer tokens (printf %s TOKEN | sha256sum); "
        "empty: no token needed.",
    )
    catalog_origin: str | None = Field(
        default=None, description="Origin allowed to frame the preview pages (DataHub's frontend)."
    )
    pg_port: int | None = Field(
        default=None, ge=0, le=65535,
        description="Port of the PostgreSQL protocol endpoint (psql, DBeaver, SQLAlchemy; e.g. 5433); none: off.",
    )
    pg_host: str | None = Field(default=None, description="Interface of the PostgreSQL endpoint. Default: host.")
    pg_tls_cert: str | None = Field(
        default=None, description="PEM certificate (chain) for the PostgreSQL endpoint's SSL; needed beyond loopback."
    )
    pg_tls_key: str | None = Field(default=None, description="PEM private key of pg_tls_cert.")
    pg_idle_timeout_seconds: float = Field(
        default=300.0, gt=0, description="A PostgreSQL connection idle this long is closed."
    )
    pg_max_connections: int = Field(default=64, ge=1, description="Open PostgreSQL connections, all clients together.")
    pg_scram_verifiers: list[str] = Field(
        default_factory=list,
        description="SCRAM-SHA-256 verifiers of the tokens (python -m catalog_synth.serve.pg_auth TOKEN ...): "
        "PostgreSQL clients then prove a token with SCRAM instead of sending it; empty: the token is sent "
        "as a password inside TLS.",
    )

    @property
    def queries_per_client(self) -> int:
        """Slots one client may hold: ``max_queries_per_client``, or half of all (at least 1)."""
        share = self.max_queries_per_client or max(1, self.max_concurrent_queries // 2)
        return min(share, self.max_concurrent_queries)

    @field_validator("token_hashes")
    @classmethod
    def _sha256_hex(cls, value: list[str]) -> list[str]:
        if any(not re.fullmatch(r"[0-9a-fA-F]{64}", digest) for digest in value):
            # Never echo the entry: it may be a token pasted by mistake.
            raise ValueError("each entry must be a SHA-256 hex digest (printf %s TOKEN | sha256sum)")
        return [digest.lower() for digest in value]

    @field_validator("pg_scram_verifiers")
    @classmethod
    def _scram(cls, value: list[str]) -> list[str]:
        shape = r"SCRAM-SHA-256\$(\d+:[A-Za-z0-9+/=]+)\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+"
        matches = [re.fullmatch(shape, verifier.strip()) for verifier in value]
        if not all(matches):
            raise ValueError("each entry must be a verifier SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
        if len({m.group(1) for m in matches if m}) > 1:
            raise ValueError("the verifiers must share one salt and iteration count: make them together "
                             "(python -m catalog_synth.serve.pg_auth TOKEN ...) or with --salt")
        return [verifier.strip() for verifier in value]

    @field_validator("catalog_origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", value):
            raise ValueError("expected an origin such as https://datahub.example.com (scheme, host, port only)")
        return value


class ExecutorConfig(Section):
    kind: Literal["local", "dask"] = "local"
    workers: int | None = None  # default: the machine's cores
    scheduler: str | None = None  # tcp://host:8786 for dask
    table_timeout_seconds: float = Field(default=600.0, gt=0)
    # Retries of transient warehouse errors per table, waiting backoff * 2^attempt (plus jitter).
    retries: int = Field(default=2, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    # Memory a local worker may map beyond its loaded libraries, in MB (RLIMIT_AS); no cap by default.
    worker_memory_mb: int | None = Field(default=None, ge=256)
