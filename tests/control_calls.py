"""Calling a control directly, as the framework would, for the controls' unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controls.framework import Evidence, Verdict, judge


def verdict_and_evidence(
    control: Callable[..., None], fact: object, **arguments: Any
) -> tuple[Verdict, Evidence]:
    """Call a control on one fact; return the framework's verdict and what the control recorded."""
    evidence = Evidence(None)
    try:
        control(fact, evidence=evidence, **arguments)
    except Exception as exc:
        return judge(exc, evidence), evidence
    return judge(None, evidence), evidence


def verdict(control: Callable[..., None], fact: object, **arguments: Any) -> Verdict:
    """Call a control on one fact and return the framework's verdict of the outcome."""
    return verdict_and_evidence(control, fact, **arguments)[0]
