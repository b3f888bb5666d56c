"""A recorded subject rebuilt on replay, checked to be about the subject it is filed under.

The TLS scanner and the page visitor both record one subject per target, its fact naming its
target. On replay the fact is rebuilt strictly (`collectors.fact_json`) and must be about the
subject id it is recorded under: a recording whose entry for one target holds another target's
fact is inconsistent, and the subject is an `error` rather than a verdict on the wrong thing.
"""

from __future__ import annotations

from typing import Any

from collectors.fact_json import subject_from_json
from collectors.facts import Subject, unobservable
from reports.evidence import msg


def rebuild_subject(fact_type: type[Any], item: dict[str, Any], inconsistent: str) -> Subject[Any]:
    """Return a recorded subject with its fact rebuilt as `fact_type`; an unreadable fact is an `error`.

    `fact_type` has a `target` with an `id`. When that id is not the subject's own, the subject is
    an `error` saying so with `inconsistent`: a catalog text (marked with `N_` by the caller) with
    the fields `{recorded}` (the fact's target) and `{id}` (the subject). Its sources are kept, so
    the evidence still cites what was recorded.
    """
    subject = subject_from_json(fact_type, item)
    fact = subject.fact
    if isinstance(fact, fact_type) and fact.target.id != subject.id:
        return unobservable(
            subject.id,
            msg(inconsistent, recorded=fact.target.id, id=subject.id),
            list(subject.sources),
        )
    return subject
