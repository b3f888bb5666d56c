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
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pytest

from collectors.facts import Subject
from controls.catalog import ControlSpec, control_spec
from reports.evidence import Message, MessageParam, Source, Status, as_message, msg, msg_n, to_json, verbatim
from reports.i18n.translation import english

F = TypeVar("F", bound=Callable[..., None])

ASSERTION_PROBE_MODULE = "controls.test_assertions_run"
"""A module imported like every control module, whose `probe_assert_false()` must raise."""


class _Stated(Exception):
    """An outcome with a reason: a Message (or, from code not yet speaking in messages, plain text)."""

    def __init__(self, reason: Message | str = "") -> None:
        self.reason = as_message(reason)
        super().__init__(english(self.reason))


class NotApplicable(_Stated):
    """Nothing in scope for this control; the reason is shown as the item's message."""


class EvidenceMissing(_Stated):
    """The fact this item needs could not be collected; the item is an `error`."""


@dataclasses.dataclass(frozen=True)
class OutOfScope:
    """The parameter of the single not_applicable item of a control with nothing in scope."""

    reason: Message | str


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


def _keeping_words(value: Any) -> Any:
    """Return `value` as JSON-ready data with every Message in it kept as a Message (words to render)."""
    if isinstance(value, Message):
        return value
    if isinstance(value, Mapping):
        return {str(k): _keeping_words(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_keeping_words(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _keeping_words(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return to_json(value)


DATA_FIELD = "\x00{}\x00"
"""Stands for the n-th message inside a value while its text form is built (never in a value itself)."""


class _DataField:
    """Stands for the n-th message inside a value: its repr is the bare marker, so a list or dict
    holding it (whose text form repr()s its items) keeps the marker unquoted and unescaped."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return DATA_FIELD.format(self.index)


def _data_text(value: Any) -> Message | str:
    """Return a recorded value as it reads in a pass line (Python's text form of the data); a value
    holding messages becomes a message of that text whose fields are the messages, so they read in
    the reader's language. The text's own braces are doubled: they are data, not fields."""
    words: list[Message] = []

    def mark(item: Any) -> Any:
        if isinstance(item, Message):
            words.append(item)
            return _DataField(len(words) - 1)
        if isinstance(item, dict):
            return {k: mark(v) for k, v in item.items()}
        if isinstance(item, list):
            return [mark(v) for v in item]
        return item

    text = str(mark(value))
    if not words:
        return text
    text = text.replace("{", "{{").replace("}", "}}")
    for index in range(len(words)):
        text = text.replace(DATA_FIELD.format(index), "{m" + str(index) + "}")
    return Message(text, {f"m{index}": word for index, word in enumerate(words)})


class Evidence:
    """What one control item observed and expected, and the raw sources behind it."""

    def __init__(self, subject: Subject[Any] | None) -> None:
        self.observations: dict[str, Any] = {}
        self.expectations: dict[str, Any] = {}
        self.sources: list[Source] = list(subject.sources) if subject else []
        self.finding: Message | None = None

    def observed(self, **values: Any) -> None:
        """Record observed values (shown to the auditor as 'observed'); a Message, at any depth of a
        value, is words, rendered in the run's language by the harness."""
        self.observations.update({k: _keeping_words(v) for k, v in values.items()})

    def expected(self, **values: Any) -> None:
        """Record what the control requires (shown to the auditor as 'expected'); a Message, at any
        depth of a value, is words, rendered in the run's language by the harness."""
        self.expectations.update({k: _keeping_words(v) for k, v in values.items()})

    def cite(self, source: Source) -> None:
        """Add a source beyond the subject's own (e.g. an attested evidence file)."""
        self.sources.append(source)

    def fails(self, text: str, /, **params: MessageParam) -> str:
        """Record the finding of a failing item (catalog text `text` with its fields); return it in English.

        Written as an assertion's message, `assert ok, evidence.fails("...", name=...)`, it runs
        only when the assertion fails; the verdict keeps the message as data.
        """
        self.finding = msg(text, **params)
        return english(self.finding)

    def fails_n(self, singular: str, plural: str, count: str, /, **params: MessageParam) -> str:
        """Record a finding with plural forms (chosen by the int parameter `count`); return it in English."""
        self.finding = msg_n(singular, plural, count, **params)
        return english(self.finding)

    def summary(self) -> Message:
        """Return the observations in one line, `name = value; ...`: the message of a pass.

        The names and values are data; only an observed value that is a Message is words, so the
        line is a message of its own fields (no catalog text) that renders those in any language.
        """
        shown = {k: v for k, v in self.observations.items() if v is not None and v != []}
        if not shown:
            return msg("condition met")
        if not all(k.isidentifier() for k in shown):
            return verbatim("; ".join(f"{k} = {v}" for k, v in shown.items()))
        line = "; ".join(f"{k} = {{{k}}}" for k in shown)
        return Message(line, {k: v if isinstance(v, Message) else _data_text(v) for k, v in shown.items()})


@dataclasses.dataclass(frozen=True, eq=False)
class Verdict:
    """The status of one control item and the finding that explains it.

    Two verdicts are equal when they say the same: the same status and the same English sentence
    (a finding stated as a catalog message equals the same sentence given as plain text).
    """

    status: Status
    stated: Message | str

    @property
    def finding(self) -> Message:
        """Return the finding as a message (plain text becomes a verbatim message)."""
        return as_message(self.stated)

    @property
    def message(self) -> str:
        """Return the finding in English (the console's and pytest's language)."""
        return english(self.finding)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return (self.status, self.message) == (other.status, other.message)

    def __hash__(self) -> int:
        return hash((self.status, self.message))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stated(exc: _Stated) -> Message:
    """Return the reason of a NotApplicable / EvidenceMissing, first line only for plain text."""
    reason = exc.reason
    return verbatim(_first_line(exc)) if reason.verbatim else reason


def judge(exc: BaseException | None, evidence: Evidence | None) -> Verdict:
    """Return the verdict of a control call from the exception it raised (None: it passed).

    An assertion is a `fail`; missing evidence, and any other exception (a control that
    cannot read its fact), is an `error`: never a pass. A failing assertion's finding is the
    one the control recorded with `evidence.fails`, else the assertion's own text.
    """
    if exc is None:
        return Verdict("pass", evidence.summary() if evidence else msg("condition met"))
    if isinstance(exc, NotApplicable):
        return Verdict("not_applicable", _stated(exc))
    if isinstance(exc, EvidenceMissing):
        return Verdict("error", _stated(exc))
    if isinstance(exc, AssertionError):
        if evidence is not None and evidence.finding is not None:
            return Verdict("fail", evidence.finding)
        if str(exc):
            return Verdict("fail", verbatim(_first_line(exc)))
        return Verdict("fail", msg("the pass condition is not met"))
    return Verdict(
        "error",
        msg(
            "control could not evaluate its evidence: {error}",
            error=verbatim(f"{type(exc).__name__}: {_first_line(exc)}"),
        ),
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
