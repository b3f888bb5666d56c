"""Where failing controls become tickets (`[tickets]` of audit.toml): the ticket modules' own settings."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from reports.setting_types import (
    DAYS_MAX,
    ConfigPath,
    ConfigSection,
    EnvName,
    HostName,
    Port,
    Seconds,
    url_problem,
)

TicketBackendName = Literal["jira", "azure-devops", "github", "webhook", "email"]
TicketMode = Literal["off", "dry-run", "on"]


class TicketSettings(ConfigSection):
    """Where failing controls become tickets (`[tickets]`)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        populate_by_name=True,
        strict=True,
        allow_inf_nan=False,
    )

    backend: TicketBackendName
    mode: TicketMode = "off"
    url: str | None = None
    """API base: a Jira site, https://dev.azure.com/ORG, https://api.github.com, a webhook URL."""
    ca_bundle: ConfigPath | None = None
    repository: str | None = None
    """GitHub: owner/name."""
    project: str | None = None
    """Jira project key or Azure DevOps project."""
    token_env: EnvName | None = None
    """The environment variable holding the credential (API token, PAT, webhook HMAC secret, SMTP password)."""
    user_env: EnvName | None = None
    """Jira Cloud: the variable holding the account e-mail for basic auth; e-mail: the SMTP user."""
    grouping: Literal["control-scope", "control-resource"] = "control-scope"
    resolve_after: int = Field(default=3, ge=1, le=DAYS_MAX)
    reminder_days: int = Field(default=7, ge=1, le=DAYS_MAX)
    reopen_days: int = Field(default=30, ge=0, le=DAYS_MAX)
    max_new: int = Field(default=20, ge=1, le=100_000)
    labels: list[str] = Field(default_factory=lambda: ["statement-auditor"])
    issue_type: str = "Task"
    """Jira issue type / Azure DevOps work item type."""
    open_state: str = "New"
    resolved_state: str = "Closed"
    reopened_state: str = "Active"
    """Azure DevOps state names (they differ per process: Agile, Scrum, Basic, CMMI)."""
    wont_fix: list[str] = Field(
        default_factory=lambda: ["Won't Fix", "Won't Do", "Risk Accepted", "Declined", "not_planned"]
    )
    """Resolutions / reasons / state reasons that mean a person decided not to fix: never reopened."""
    report_url: str | None = None
    """Where the night's evidence report is published; ticket bodies link to it."""
    lang: Literal["en", "nl"] | None = None
    """The tickets' language (titles, bodies, comments, findings); default: the report's (--report-lang)."""
    owner: str | None = None
    """Who receives the one 'could not evaluate' ticket of a run (the auditor's owner)."""
    state_file: ConfigPath | None = None
    """Optional local cache of fingerprint -> ticket; the tracker stays the system of record."""
    timeout_seconds: Seconds = 20.0
    smtp_host: HostName | None = None
    smtp_port: Port = 587
    from_address: str | None = Field(default=None, alias="from")
    to: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("expected an https:// URL (credentials are never sent in clear text)")
        problem = url_problem(value, ("https",)) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value.rstrip("/") if value else value

    @field_validator("report_url")
    @classmethod
    def _report_url(cls, value: str | None) -> str | None:
        problem = url_problem(value, ("https", "http")) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _backend_needs(self) -> TicketSettings:
        needs: dict[str, tuple[str, ...]] = {
            "jira": ("url", "project", "token_env", "user_env"),
            "azure-devops": ("url", "project", "token_env"),
            "github": ("url", "repository", "token_env"),
            "webhook": ("url", "token_env"),
            "email": ("smtp_host", "from_address", "to"),
        }
        for key in needs[self.backend]:
            if not getattr(self, key):
                shown = "from" if key == "from_address" else key
                raise ValueError(f"{shown}: required for backend {self.backend!r}")
        if self.backend == "github" and self.repository and self.repository.count("/") != 1:
            raise ValueError("repository: expected owner/name")
        return self
