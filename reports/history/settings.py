"""Where the history of archived nights is indexed (`[history]` of audit.toml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator, model_validator

from reports.setting_types import ConfigPath, ConfigSection, EnvName, redacted_url

HISTORY_FILE = "history.sqlite"
"""The embedded default: a SQLite file beside the archive folder (`<archive>.history.sqlite`)."""


def default_history_file(archive_folder: Path) -> Path:
    """Return the embedded history's file for a folder archive: `<archive>.history.sqlite` beside it.

    Beside, not inside: the archive holds only archived runs (verify-chain names anything else).
    """
    return archive_folder.parent / f"{archive_folder.name}.{HISTORY_FILE}"


class HistorySettings(ConfigSection):
    """`[history]`: a SQLite file (`path`, the default beside the archive) or PostgreSQL (`url`)."""

    path: ConfigPath | None = None
    """A SQLite file (relative to the config file's folder)."""
    url: str | None = None
    """postgresql://user@host:port/database (no password in the URL: use password_env)."""
    password_env: EnvName | None = None
    index: bool = True
    """Index each archived night after the run (false: only `python -m reports reindex` fills it)."""

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("expected a postgresql:// URL")
        head = value.split("://", 1)[1].split("/", 1)[0]
        if ":" in head.split("@", 1)[0] and "@" in head:
            raise ValueError(f"the URL holds a password ({redacted_url(value)}): use password_env")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> HistorySettings:
        if self.path is not None and self.url is not None:
            raise ValueError("path, url: give one (a SQLite file or a PostgreSQL URL)")
        if self.password_env is not None and self.url is None:
            raise ValueError("password_env: only with url")
        return self
