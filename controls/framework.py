"""How a statement measure becomes pytest items: the @control decorator and the evidence it records.

A control is a plain function of one fact (plus policy): it records what it observed and
what it expected, and asserts. The framework turns the outcome into one of the five
statuses; missing evidence is `error`, never a pass.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from collectors.facts import Subject
from controls.catalog import ControlSpec, control_spec
from reports.evidence import Source, Status, to_json

F = TypeVar("F", bound=Callable[..., None])

ASSERTION_PROBE_MODULE = "controls.test_assertions_run"
"""A module imported like every control module, whose `probe_assert_false()` must raise."""


class NotApplicable(Exception):
    """Nothing in scope for this control; the reason is shown as the item's message."""


class EvidenceMissing(Exception):
    """The fact this item needs could not be collected; the item is an `error`."""


@dataclasses.dataclass(frozen=True)
class OutOfScope:
    """The parameter of the single not_applicable item of a control with nothing in scope."""

    reason: str


def control(control_id: str, *, over: str) -> Callable[[F], F]:
    """Mark a test function as the control `control_id`, evaluated once per subject of `over`.

    The function's first parameter receives the subject's fact; `over` names a population
    that a collector fills (e.g. "azure.sql_databases").
    """
    spec = control_spec(control_id)

    def decorate(func: F) -> F:
        params = list(inspect.signature(func).parameters)
        if not params:
            raise TypeError(f"control {control_id}: {func.__name__} needs a parameter for the fact")
        marked: F = pytest.mark.control(spec.id, over)(func)
        return marked

    return decorate


def control_of(item: pytest.Item) -> tuple[ControlSpec, str] | None:
    """Return the control spec and population name of a collected item, or None for plain tests."""
    marker = item.get_closest_marker("control")
    if marker is None:
        return None
    control_id, over = marker.args
    return control_spec(control_id), over


def fact_parameter(func: Callable[..., Any]) -> str:
    """Return the name of the parameter that receives the fact (the function's first)."""
    return next(iter(inspect.signature(func).parameters))


class Evidence:
    """What one control item observed and expected, and the raw sources behind it."""

    def __init__(self, subject: Subject[Any] | None) -> None:
        self.observations: dict[str, Any] = {}
        self.expectations: dict[str, Any] = {}
        self.sources: list[Source] = list(subject.sources) if subject else []

    def observed(self, **values: Any) -> None:
        """Record observed values (shown to the auditor as 'observed')."""
        self.observations.update({k: to_json(v) for k, v in values.items()})

    def expected(self, **values: Any) -> None:
        """Record what the control requires (shown to the auditor as 'expected')."""
        self.expectations.update({k: to_json(v) for k, v in values.items()})

    def cite(self, source: Source) -> None:
        """Add a source beyond the subject's own (e.g. an attested evidence file)."""
        self.sources.append(source)

    def summary(self) -> str:
        """Return a one-line rendering of the observations, used as the message of a pass."""
        shown = [f"{k} = {v}" for k, v in self.observations.items() if v is not None and v != []]
        return "; ".join(shown) or "condition met"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The status of one control item and the sentence that explains it."""

    status: Status
    message: str


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def judge(exc: BaseException | None, evidence: Evidence | None) -> Verdict:
    """Return the verdict of a control call from the exception it raised (None: it passed).

    An assertion is a `fail`; missing evidence, and any other exception (a control that
    cannot read its fact), is an `error`: never a pass.
    """
    if exc is None:
        return Verdict("pass", evidence.summary() if evidence else "condition met")
    if isinstance(exc, NotApplicable):
        return Verdict("not_applicable", _first_line(exc))
    if isinstance(exc, EvidenceMissing):
        return Verdict("error", _first_line(exc))
    if isinstance(exc, AssertionError):
        return Verdict("fail", _first_line(exc) if str(exc) else "the pass condition is not met")
    return Verdict(
        "error", f"control could not evaluate its evidence: {type(exc).__name__}: {_first_line(exc)}"
    )


def assertions_off_reason(probe: Callable[[], None] | None = None) -> str | None:
    """Return why the controls' `assert` statements would not run in this interpreter, or None.

    Controls fail by `assert`; with assertions compiled away every item passes. Two checks:
    the interpreter's optimize flag (`python -O`, `PYTHONOPTIMIZE`), and a probe that really
    executes `assert False` in a module imported the way pytest imports control modules
    (`probe`, default ASSERTION_PROBE_MODULE's `probe_assert_false`), so that any other way to
    lose assertions is caught too. conftest.py refuses to audit (exit 4) when this says why.
    """
    if sys.flags.optimize:
        return (
            f"assertions are switched off (sys.flags.optimize = {sys.flags.optimize}: python -O or "
            "PYTHONOPTIMIZE is set): every control would pass; run without -O and unset PYTHONOPTIMIZE"
        )
    if probe is None:
        try:
            probe = importlib.import_module(ASSERTION_PROBE_MODULE).probe_assert_false
        except (ImportError, AttributeError) as exc:
            # Fail closed: without the probe nobody knows whether the controls' asserts run.
            return f"the assertion probe {ASSERTION_PROBE_MODULE} cannot be loaded ({exc})"
    try:
        probe()
    except AssertionError:
        return None
    where = getattr(probe, "__module__", "?")
    return (
        f"assertions do not run: `assert False` in {where} did not raise, so every control would "
        "pass; run without -O / PYTHONOPTIMIZE"
    )
