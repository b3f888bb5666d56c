"""Where the ops team's tracker is read for evidence: `[data_subject_requests]` (clause 10) and
`[breach_notifications]` (clause 13).

The connection keys follow `[tickets]` (url, ca_bundle, project / repository, token_env, user_env):
credentials are named by environment variable only, never written in the file. What selects the
tickets (a label, an issue type) and which field, label or status records a time is configured
per section, because every team keeps its register differently.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from reports.setting_types import ConfigPath, ConfigSection, EnvName, Seconds, url_problem

TrackerName = Literal["jira", "github"]
"""The trackers that can be read for evidence (Azure DevOps: not yet)."""

_SAFE = re.compile(r"^[^\"'\\\n\r]+$")
"""A name placed inside a JQL string: no quotes, backslashes or line breaks (no query injection)."""


def _safe_name(value: str | None, key: str) -> str | None:
    if value is not None and not _SAFE.fullmatch(value):
        raise ValueError(f"{key}: quotes, backslashes and line breaks are not allowed")
    return value


class TrackerSource(ConfigSection):
    """One tracker register read for evidence: where it is, how to sign in, which tickets belong to it."""

    tracker: TrackerName
    url: str
    """API base: a Jira site (https://example.atlassian.net) or https://api.github.com."""
    ca_bundle: ConfigPath | None = None
    project: str | None = None
    """Jira project key."""
    repository: str | None = None
    """GitHub: owner/name."""
    token_env: EnvName
    """The environment variable holding the API token."""
    user_env: EnvName | None = None
    """Jira Cloud: the variable holding the account e-mail for basic auth."""
    label: str | None = Field(default=None, min_length=1)
    """The label (Jira, GitHub) every ticket of this register carries."""
    issue_type: str | None = Field(default=None, min_length=1)
    """Jira: the issue type of this register's tickets."""
    since: date | None = None
    """Only tickets created on or after this date (the start of the audited period)."""
    timeout_seconds: Seconds = 20.0

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("expected an https:// URL (credentials are never sent in clear text)")
        problem = url_problem(value, ("https",))
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @model_validator(mode="after")
    def _tracker_needs(self) -> TrackerSource:
        for key in ("project", "label", "issue_type"):
            _safe_name(getattr(self, key), key)
        if self.tracker == "jira":
            for key in ("project", "user_env"):
                if not getattr(self, key):
                    raise ValueError(f"{key}: required for tracker 'jira'")
            if self.label is None and self.issue_type is None:
                raise ValueError("label or issue_type: one is required to select the register's tickets")
        else:
            if not self.repository or self.repository.count("/") != 1:
                raise ValueError("repository: required for tracker 'github', as owner/name")
            if self.label is None:
                raise ValueError("label: required for tracker 'github'")
            if self.issue_type is not None:
                raise ValueError("issue_type: not supported for tracker 'github' (use a label)")
        return self

    def register(self) -> str:
        """Return where the register is kept, e.g. "jira SEC label avg-verzoek" (no credential)."""
        where = self.project if self.tracker == "jira" else self.repository
        selection = [f"label {self.label}"] if self.label else []
        if self.issue_type:
            selection.append(f"type {self.issue_type}")
        return f"{self.tracker} {where} {' '.join(selection)}"


class DataSubjectRequestSettings(TrackerSource):
    """`[data_subject_requests]`: the register of access, correction and erasure requests (clause 10)."""


class BreachNotificationSettings(TrackerSource):
    """`[breach_notifications]`: the incident register and how it records the customers' notification (clause 13).

    Whether customers must be told: `notify_label` (the analysis adds this label) or
    `notify_field` holding one of `notify_values` (Jira). When they were told: `notified_field`
    (a date-time field, Jira), `notified_label` (the time this label was added, from the history)
    or `notified_status` (the time of the first transition to this status, Jira). Detection: the
    ticket's creation, or `detected_field` (a date-time field, Jira).
    """

    notify_label: str | None = Field(default=None, min_length=1)
    notify_field: str | None = Field(default=None, min_length=1)
    notify_values: list[str] = Field(default_factory=list)
    notified_field: str | None = Field(default=None, min_length=1)
    notified_label: str | None = Field(default=None, min_length=1)
    notified_status: str | None = Field(default=None, min_length=1)
    detected_field: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _notification_settings(self) -> BreachNotificationSettings:
        if (self.notify_label is None) == (self.notify_field is None):
            raise ValueError("notify_label or notify_field: exactly one says whether customers must be told")
        if self.notify_field is not None and not self.notify_values:
            raise ValueError("notify_values: required with notify_field (the values that mean 'notify')")
        chosen = [k for k in ("notified_field", "notified_label", "notified_status") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(
                "notified_field, notified_label or notified_status: exactly one says when customers were told"
            )
        if self.tracker == "github":
            for key in ("notify_field", "notified_field", "notified_status", "detected_field"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: not supported for tracker 'github' (use labels)")
        return self
