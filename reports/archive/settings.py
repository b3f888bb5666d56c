"""Where every night's bundle is archived (`[archive]` of audit.toml), and opening that store."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from reports.setting_types import ConfigPath, ConfigSection, EnvName, Seconds, url_problem


class ArchiveSettings(ConfigSection):
    """`[archive]`: a folder (default) or an Azure Blob container, and an optional timestamp authority."""

    kind: Literal["folder", "azure-blob"] = "folder"
    path: ConfigPath | None = None
    """kind = "folder": the archive's folder (relative to the config file's folder)."""
    account_url: str | None = None
    """kind = "azure-blob": https://<account>.blob.core.windows.net (credential as for [azure])."""
    container: str | None = None
    connection_string_env: EnvName | None = None
    """kind = "azure-blob": instead of azure-identity, the variable holding a connection string."""
    tsa_url: str | None = None
    """An RFC 3161 timestamp authority: each night's manifest is timestamped and the token archived."""
    tsa_ca_file: ConfigPath | None = None
    """PEM file of the TSA's trusted root(s), to check each timestamp right after it is taken."""
    timeout_seconds: Seconds = 30.0
    """Bounds connecting to and each read from an Azure Blob archive or the TSA."""
    retries: int = Field(default=3, ge=0, le=10)
    """How often a failed Azure Blob request is retried (with the SDK's backoff) before the night is not archived."""

    @field_validator("account_url", "tsa_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        problem = url_problem(value, ("https", "http")) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value.rstrip("/") if value else value

    @field_validator("container")
    @classmethod
    def _container(cls, value: str | None) -> str | None:
        # Azure's container naming rule: 3-63 of lowercase letters, digits and single hyphens.
        if value is not None and not (
            3 <= len(value) <= 63
            and all(c.islower() or c.isdigit() or c == "-" for c in value)
            and value[0].isalnum()
            and value[-1].isalnum()
            and "--" not in value
        ):
            raise ValueError(
                "expected an Azure container name: 3-63 lowercase letters, digits and single hyphens"
            )
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> ArchiveSettings:
        if self.kind == "folder":
            if self.path is None:
                raise ValueError('path: required for kind = "folder"')
            if self.account_url or self.container or self.connection_string_env:
                raise ValueError(
                    'account_url, container, connection_string_env: only for kind = "azure-blob"'
                )
        else:
            if self.container is None:
                raise ValueError('container: required for kind = "azure-blob"')
            if (self.account_url is None) == (self.connection_string_env is None):
                raise ValueError(
                    'account_url or connection_string_env: give exactly one for kind = "azure-blob"'
                )
            if self.path is not None:
                raise ValueError('path: only for kind = "folder"')
        if self.account_url is not None and not self.account_url.startswith("https://"):
            raise ValueError(
                "account_url: expected an https:// URL (the credential is never sent in clear text)"
            )
        if self.tsa_ca_file is not None and self.tsa_url is None:
            raise ValueError("tsa_ca_file: only with tsa_url")
        return self
