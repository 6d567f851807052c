"""Settings of the ledger, read from the environment and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting of the product; each has a default that runs on one machine.

    Names are the environment variables, upper-cased (`KAFKA_BOOTSTRAP_SERVERS`, ...).
    Read from the environment, then the `.env` of the current directory, then the
    `.env` of the checkout (so a command run from another folder of the checkout
    still finds the checkout's settings).
    """

    model_config = SettingsConfigDict(
        env_file=(REPO_ROOT / ".env", ".env"), extra="ignore"
    )

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        description="Kafka to use; unset means the embedded broker on KAFKA_PORT.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL to use; unset means the embedded server on POSTGRES_PORT."
        ),
    )
    data_dir: Path = Field(
        default=REPO_ROOT / "var",
        description="Broker log, PostgreSQL cluster, pid files and rejects live here.",
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "shixin-ledger",
        description="Maven-resolved Kafka jars (outside git, shared by clones).",
    )
    kafka_port: int = Field(default=19092, description="Embedded broker's client port.")
    kafka_controller_port: int = Field(
        default=19093, description="Embedded broker's KRaft controller port."
    )
    kafka_heap: str = Field(default="1g", description="Embedded broker's JVM heap.")
    postgres_port: int = Field(default=15432, description="Embedded PostgreSQL port.")
    topic_partitions: int = Field(
        default=6, description="Partitions of every ledger and derived topic."
    )
    topic_prefix: str = Field(
        default="shixin",
        description="Prefix of every topic name (one ledger per prefix).",
    )
    clock_interval_seconds: float = Field(
        default=3600.0, description="Timekeeper: seconds between clock ticks."
    )
    ledger_schema: str = Field(
        default="ledger",
        description="PostgreSQL schema of the live query tables (demo, audit).",
    )
    log_level: str = Field(default="WARNING", description="Python log level.")

    @field_validator("data_dir", "cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # the broker runs inside DATA_DIR/kafka: a relative path would be resolved
        # twice (once here, once from there)
        return value.expanduser().resolve()

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.kafka_port}"

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap_servers is None

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def postgres_url(self) -> str:
        return (
            self.database_url
            or f"postgresql://postgres@127.0.0.1:{self.postgres_port}/postgres"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
