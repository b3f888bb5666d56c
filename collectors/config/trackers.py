"""Where the ops team's tracker is read for evidence: `[data_subject_requests]` (clause 10) and
`[breach_notifications]` (clause 13).

Trackers: Jira Cloud, GitHub Issues and Azure DevOps Boards. Azure DevOps uses its own words for
the selection and the history: `tag` and `work_item_type` (not `label` / `issue_type`),
`notify_tag`, `no_notify_tag`, `notified_tag` and `notified_state` (not `notify_label`,
`no_notify_label`, `notified_label`, `notified_status`); the other tracker's keys are refused with
a message naming them.

The connection keys follow `[tickets]` (url, ca_bundle, project / repository, token_env, user_env):
credentials are named by environment variable only, never written in the file. What selects the
tickets (a label, an issue type) and which field, label or status records a time is configured
per section, because every team keeps its register differently.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from reports.setting_types import ConfigPath, ConfigSection, EnvName, Seconds, url_problem

TrackerName = Literal["jira", "github", "azure-devops"]
"""The trackers that can be read for evidence."""

_SAFE = re.compile(r"^[^\"'\\\n\r]+$")
"""A name placed inside a JQL or WIQL string: no quotes, backslashes or line breaks (no query injection)."""

_ADO_INSTEAD = {
    "label": "tag",
    "issue_type": "work_item_type",
    "notify_label": "notify_tag",
    "no_notify_label": "no_notify_tag",
    "notified_label": "notified_tag",
    "notified_status": "notified_state",
}
"""Jira / GitHub keys and the Azure DevOps key that says the same."""


def _safe_name(value: str | None, key: str) -> str | None:
    if value is not None and not _SAFE.fullmatch(value):
        raise ValueError(f"{key}: quotes, backslashes and line breaks are not allowed")
    return value


class TrackerSource(ConfigSection):
    """One tracker register read for evidence: where it is, how to sign in, which tickets belong to it."""

    tracker: TrackerName
    url: str
    """API base: a Jira site (https://example.atlassian.net), https://api.github.com or an Azure DevOps
    organization (https://dev.azure.com/<org>)."""
    ca_bundle: ConfigPath | None = None
    project: str | None = None
    """Jira project key; Azure DevOps project name."""
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
    tag: str | None = Field(default=None, min_length=1)
    """Azure DevOps: the tag (`System.Tags`) every work item of this register carries."""
    work_item_type: str | None = Field(default=None, min_length=1)
    """Azure DevOps: the work item type of this register's items (e.g. "AVG-verzoek", "Incident")."""
    since: date | None = None
    """The start of the audited period: tickets created or resolved on or after this date, and every
    ticket still open whatever its age (an old request left open is never hidden by the period)."""
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
        for key in ("project", "label", "issue_type", "tag", "work_item_type"):
            _safe_name(getattr(self, key), key)
        if self.tracker == "azure-devops":
            self._azure_devops_needs()
            return self
        for key in ("tag", "work_item_type"):
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: only for tracker 'azure-devops'")
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

    def _azure_devops_needs(self) -> None:
        if not urlsplit(self.url).path.strip("/"):
            raise ValueError(
                "url: for tracker 'azure-devops', the organization URL (https://dev.azure.com/<org>)"
            )
        if not self.project:
            raise ValueError("project: required for tracker 'azure-devops'")
        for key in ("repository", "user_env"):
            if getattr(self, key) is not None:
                raise ValueError(
                    f"{key}: not supported for tracker 'azure-devops' (the PAT in token_env is sent with an "
                    "empty user)"
                    if key == "user_env"
                    else f"{key}: not supported for tracker 'azure-devops' (use project)"
                )
        for key, instead in _ADO_INSTEAD.items():
            if getattr(self, key, None) is not None:
                raise ValueError(f"{key}: not supported for tracker 'azure-devops' (use {instead})")
        if self.tag is None and self.work_item_type is None:
            raise ValueError("tag or work_item_type: one is required to select the register's work items")

    def register(self) -> str:
        """Return where the register is kept, e.g. "jira SEC label avg-verzoek" (no credential)."""
        where = self.repository if self.tracker == "github" else self.project
        selection = [f"label {self.label}"] if self.label else []
        if self.tag:
            selection.append(f"tag {self.tag}")
        if self.issue_type or self.work_item_type:
            selection.append(f"type {self.issue_type or self.work_item_type}")
        return f"{self.tracker} {where} {' '.join(selection)}"


class DataSubjectRequestSettings(TrackerSource):
    """`[data_subject_requests]`: the register of access, correction and erasure requests (clause 10)."""


class BreachNotificationSettings(TrackerSource):
    """`[breach_notifications]`: the incident register and how it records the customers' notification (clause 13).

    Whether customers must be told, as the analysis records it, in one of two ways:

    * labels (Jira, GitHub): `notify_label` (the analysis adds it when customers must be told) and
      `no_notify_label` (it adds this one when they need not be), both required;
    * a field (Jira, Azure DevOps): `notify_field` holding one of `notify_values` (must be told) or
      one of `no_notify_values` (need not be), both lists required.

    An incident with neither label (an empty field, or a value in neither list) has not been
    analysed: within `policy.breach_notification_hours` of its detection it is pending
    (`not_applicable`), after that it fails. One with both labels (values of both lists) contradicts
    itself: `error`. The absence of a label is never read as an outcome.

    When they were told: `notified_field` (a date-time field, Jira), `notified_label` (the time this
    label was added, from the history) or `notified_status` (the time of the first transition to this
    status, Jira). Detection: the ticket's creation, or `detected_field` (a date-time field, Jira).

    Azure DevOps: `notify_tag` + `no_notify_tag`, or `notify_field` + `notify_values` +
    `no_notify_values`; `notified_field`, `notified_tag` (when the tag was added, from the work
    item's updates) or `notified_state` (the first update to this `System.State`); detection
    `System.CreatedDate` or `detected_field`. Tags are compared case-insensitively, as Azure DevOps
    does.
    """

    notify_label: str | None = Field(default=None, min_length=1)
    """The label the analysis adds when customers must be notified (Jira, GitHub)."""
    no_notify_label: str | None = Field(default=None, min_length=1)
    """The label the analysis adds when customers need not be notified; required with notify_label."""
    notify_field: str | None = Field(default=None, min_length=1)
    notify_values: list[str] = Field(default_factory=list)
    """Values of notify_field that mean "customers must be notified"."""
    no_notify_values: list[str] = Field(default_factory=list)
    """Values of notify_field that mean "customers need not be notified"; required with notify_field."""
    notified_field: str | None = Field(default=None, min_length=1)
    notified_label: str | None = Field(default=None, min_length=1)
    notified_status: str | None = Field(default=None, min_length=1)
    detected_field: str | None = Field(default=None, min_length=1)
    notify_tag: str | None = Field(default=None, min_length=1)
    """Azure DevOps: the tag the analysis adds when customers must be notified."""
    no_notify_tag: str | None = Field(default=None, min_length=1)
    """Azure DevOps: the tag the analysis adds when customers need not be notified; required with notify_tag."""
    notified_tag: str | None = Field(default=None, min_length=1)
    notified_state: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _notification_settings(self) -> BreachNotificationSettings:
        if self.tracker == "azure-devops":
            self._azure_devops_notification()
            return self
        for key in ("notify_tag", "no_notify_tag", "notified_tag", "notified_state"):
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: only for tracker 'azure-devops'")
        if (self.notify_label is None) == (self.notify_field is None):
            raise ValueError("notify_label or notify_field: exactly one says whether customers must be told")
        self._analysis_pair("label", self.notify_label, self.no_notify_label, casefold=False)
        self._analysis_values()
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

    def _azure_devops_notification(self) -> None:
        if (self.notify_tag is None) == (self.notify_field is None):
            raise ValueError("notify_tag or notify_field: exactly one says whether customers must be told")
        self._analysis_pair("tag", self.notify_tag, self.no_notify_tag, casefold=True)
        self._analysis_values()
        chosen = [k for k in ("notified_field", "notified_tag", "notified_state") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(
                "notified_field, notified_tag or notified_state: exactly one says when customers were told"
            )

    def _analysis_pair(self, kind: str, notify: str | None, no_notify: str | None, *, casefold: bool) -> None:
        """Refuse a notify_<kind> without no_notify_<kind> (and the reverse), and a no_notify_<kind> that
        every ticket of the register, or every notified incident, would carry."""
        if notify is not None and no_notify is None:
            raise ValueError(
                f"no_notify_{kind}: required with notify_{kind} (the {kind} the analysis adds when customers "
                f"need not be told; without it an incident nobody analysed looks like one needing no notification)"
            )
        if no_notify is None:
            return
        if notify is None:
            raise ValueError(f"no_notify_{kind}: only with notify_{kind}")

        def same(other: str | None) -> bool:
            if other is None:
                return False
            return other.casefold() == no_notify.casefold() if casefold else other == no_notify

        for key in (f"notify_{kind}", kind, f"notified_{kind}"):
            if same(getattr(self, key)):
                raise ValueError(f"no_notify_{kind}: must differ from {key}")

    def _analysis_values(self) -> None:
        """Refuse notify_field without both value lists, value lists without notify_field, and shared values."""
        if self.notify_field is None:
            for key in ("notify_values", "no_notify_values"):
                if getattr(self, key):
                    raise ValueError(f"{key}: only with notify_field")
            return
        if not self.notify_values:
            raise ValueError("notify_values: required with notify_field (the values that mean 'notify')")
        if not self.no_notify_values:
            raise ValueError(
                "no_notify_values: required with notify_field (the values that mean 'no notification needed'; "
                "any other value, or none, is an incident not yet analysed)"
            )
        shared = {v.casefold() for v in self.notify_values} & {v.casefold() for v in self.no_notify_values}
        if shared:
            raise ValueError(
                f"no_notify_values: {', '.join(sorted(shared))} is also in notify_values (values are compared "
                "case-insensitively)"
            )

    def analysis_from(self) -> str:
        """Return where the analysis is read, as shown in the evidence (e.g. "label a / label b")."""
        if self.notify_field is not None:
            return (
                f"field {self.notify_field} (notify: {', '.join(self.notify_values)}; "
                f"no notification: {', '.join(self.no_notify_values)})"
            )
        kind = "tag" if self.notify_tag is not None else "label"
        notify = self.notify_tag if self.notify_tag is not None else self.notify_label
        no_notify = self.no_notify_tag if self.no_notify_tag is not None else self.no_notify_label
        return f"{kind} {notify} / {kind} {no_notify}"

    def notified_event(self) -> tuple[str, str] | None:
        """Return (kind, name) of the history event that records the notification, None for a field.

        Kinds: "label" / "status" (Jira, GitHub), "tag" / "state" (Azure DevOps).
        """
        for kind, value in (
            ("label", self.notified_label),
            ("status", self.notified_status),
            ("tag", self.notified_tag),
            ("state", self.notified_state),
        ):
            if value:
                return kind, value
        return None
