"""The stable identity of a ticket: a fingerprint label derived from identity fields only.

A fingerprint is `ctlfp-` + the first 16 hex digits of sha256(control id, newline, scope),
where the scope is the problem's scope (subscription, host group, server, endpoint...) or, with
`grouping = "control-resource"`, the resource id. Messages, counts and timestamps never enter
it, so the same problem keeps the same ticket night after night. The form fits Jira labels,
Azure DevOps tags and GitHub labels (no spaces, 22 characters).
"""

from __future__ import annotations

import hashlib
import re

PREFIX = "ctlfp-"
_PATTERN = re.compile(r"^ctlfp-[0-9a-f]{16}$")


def fingerprint(control: str, scope: str) -> str:
    """Return the fingerprint label of the problem (`control`, `scope`); the same inputs always give the same label."""
    digest = hashlib.sha256(f"{control}\n{scope}".encode()).hexdigest()
    return f"{PREFIX}{digest[:16]}"


def is_fingerprint(label: str) -> bool:
    """Return whether `label` has the form of a fingerprint (used to pick it out of a ticket's labels)."""
    return bool(_PATTERN.match(label))
