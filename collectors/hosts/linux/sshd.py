"""The sshd section: the effective sshd configuration (`sshd -T`)."""

from __future__ import annotations

from collections.abc import Mapping

from collectors.hosts.linux.sections import Section
from collectors.messages import Reason
from reports.evidence import msg


def parse_sshd_t(text: str) -> dict[str, str]:
    """Return `sshd -T` as {keyword: value}; a keyword given several times has its values joined by newlines."""
    config: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            config.setdefault(key.lower(), []).append(value.strip())
    return {key: "\n".join(values) for key, values in config.items()}


def read_sshd_config(sections: Mapping[str, Section], errors: dict[str, Reason]) -> dict[str, str] | None:
    """Return the sshd configuration from `sshd -T`; None with the reason in `errors["sshd_config"]`."""
    sshd = sections.get("sshd")
    if sshd is not None and sshd.ok:
        return parse_sshd_t(sshd.stdout)
    errors["sshd_config"] = (
        sshd.failure("sshd -T") if sshd else msg("{what} was not reported", what="sshd -T")
    )
    return None
