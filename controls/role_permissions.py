"""What an Azure role definition allows, read the way ARM reads it: is the role privileged?

A role's effective permissions are, per permission block, its actions minus its notActions and
its dataActions minus its notDataActions; `*` in a pattern matches any run of characters,
operation names compare case-insensitively (ARM's rules for Actions and NotActions:
https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions-format).

A role is privileged when it allows anything but reading: a write, a delete or any action
(actions assign roles, list keys and connection strings, read secrets, restart, run commands),
on the control plane or on data; or when it can read secrets and keys (Key Vault data reads).
Only a role whose every allowed operation is a read of something other than secrets is not
privileged, whatever its name says.

Whether a wildcard pattern still allows some non-read operation after its exclusions is decided
exactly: the pattern itself, its `*` kept as a literal `*` (with `/write`, `/delete` and `/action`
appended when it ends in `*`), is the probe. An exclusion reads every `*` it contains as a
wildcard, so no exclusion holds a literal `*`: one that matches the probe covers each literal `*`
with a wildcard of its own, and so matches every operation the pattern's wildcard stands for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from collectors.azure.facts import RolePermission
from reports.evidence import N_, Message, msg, verbatim
from reports.i18n.translation import english

NON_READ_SUFFIXES = ("/write", "/delete", "/action")
ROLE_ASSIGNMENT_OPERATIONS = (
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleDefinitions/write",
)
"""Operations that hand out access: a role allowing either can make anyone an Owner."""
SECRET_DATA_READS = (
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/secrets/read",
    "Microsoft.KeyVault/vaults/keys/read",
    "Microsoft.KeyVault/vaults/certificates/read",
)
"""Key Vault data operations that read secrets, keys or certificates."""


@lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(
        ".*".join(re.escape(part) for part in text.strip().split("*")), re.IGNORECASE | re.DOTALL
    )


def operation_matches(operation: str, pattern: str) -> bool:
    """Return True when an ARM permission pattern (`*` wildcards, any case) matches an operation."""
    return _pattern(pattern).fullmatch(operation.strip()) is not None


def allowed(operation: str, allows: Iterable[str], excludes: Iterable[str]) -> bool:
    """Return True when `operation` matches an allowing pattern and no excluding pattern."""
    return any(operation_matches(operation, a) for a in allows) and not any(
        operation_matches(operation, e) for e in excludes
    )


def _non_read_probes(pattern: str) -> list[str]:
    """Return operations standing for every non-read operation `pattern` allows (none for a read).

    A pattern ending in `/read` allows reads only. A pattern ending in `*` allows writes, deletes
    and actions under its prefix; any other pattern allows the operation it names.
    """
    text = pattern.strip()
    if text.lower().endswith("/read"):
        return []
    if text.endswith("*"):
        return [text + suffix for suffix in NON_READ_SUFFIXES]
    return [text]


KIND_WORDS: dict[tuple[str, ...], str] = {
    ("delete",): N_("delete"),
    ("run actions",): N_("run actions"),
    ("write",): N_("write"),
    ("run operations",): N_("run operations"),
    ("delete", "run actions"): N_("delete, run actions"),
    ("delete", "write"): N_("delete, write"),
    ("run actions", "write"): N_("run actions, write"),
    ("delete", "run actions", "write"): N_("delete, run actions, write"),
}
"""What a pattern lets a role do, by the sorted kinds of operation it grants (catalog texts)."""


def _kind(operation: str) -> str:
    lowered = operation.lower()
    for suffix, word in (("/write", "write"), ("/delete", "delete"), ("/action", "run actions")):
        if lowered.endswith(suffix):
            return word
    return "run operations"


def _kinds_text(kinds: list[str]) -> Message:
    """Return the kinds of operation a pattern grants, in words ("delete, run actions, write")."""
    words = KIND_WORDS.get(tuple(kinds))
    return msg(words) if words is not None else verbatim(", ".join(kinds))


def privilege_reasons(permissions: Iterable[RolePermission]) -> list[Message]:
    """Return what makes a role privileged, as messages (empty: it can only read, and no secrets).

    Each reason names the pattern that grants it, e.g. "action '*' lets it write" or "can assign roles".
    """
    reasons: list[Message] = []
    for block in permissions:
        if any(allowed(op, block.actions, block.not_actions) for op in ROLE_ASSIGNMENT_OPERATIONS):
            reasons.append(
                msg("can assign roles (Microsoft.Authorization roleAssignments/roleDefinitions write)")
            )
        for data_plane, allows, excludes in (
            (False, block.actions, block.not_actions),
            (True, block.data_actions, block.not_data_actions),
        ):
            for pattern in allows:
                granted = [
                    p for p in _non_read_probes(pattern) if not any(operation_matches(p, e) for e in excludes)
                ]
                kinds = sorted({_kind(p) for p in granted})
                if not kinds:
                    continue
                if data_plane:
                    reason = msg(
                        "data action {pattern} lets it {kinds}",
                        pattern=repr(pattern),
                        kinds=_kinds_text(kinds),
                    )
                else:
                    reason = msg(
                        "action {pattern} lets it {kinds}", pattern=repr(pattern), kinds=_kinds_text(kinds)
                    )
                reasons.append(reason)
        if any(allowed(op, block.data_actions, block.not_data_actions) for op in SECRET_DATA_READS):
            reasons.append(msg("can read Key Vault secrets, keys or certificates (data actions)"))
    unique: list[Message] = []
    for reason in reasons:
        if reason not in unique:
            unique.append(reason)
    return unique


def privileges(permissions: Iterable[RolePermission]) -> list[str]:
    """Return what makes a role privileged, in English words (empty: it can only read, and no secrets).

    Each reason names the pattern that grants it, e.g. "'*' lets it write" or "can assign roles".
    """
    return [english(reason) for reason in privilege_reasons(permissions)]
