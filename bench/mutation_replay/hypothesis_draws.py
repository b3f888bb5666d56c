"""Mutants drawn by hypothesis: a random location of the recording, a random JSON value put there.

The enumeration (`bench.mutation_replay.mutants`) puts a fixed set of values at every location
(absent, null, wrong type, empty, unknown word). This draws locations and arbitrary JSON values
(any type, nested, unicode) instead, so `python -m bench.mutation_replay --compare` can measure which of
the two finds more holes for the same number of mutants.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bench.mutation_replay.mutants import Mutant, is_json_location, original_value
from bench.mutation_replay.replay import Outcome, Replay

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=24),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _is_malformed(old: Any, new: Any) -> bool:
    """A value of another JSON type, null, or another text is malformed; same-type others are plausible."""
    if new is None or type(new) is not type(old):
        return True
    return isinstance(new, str) and new != old


def drawn_outcomes(replay: Replay, locations: list[Mutant], count: int, random_seed: int) -> list[Outcome]:
    """Replay `count` mutants drawn by hypothesis over the JSON `locations`; return their outcomes.

    Each draw picks a location (from the enumeration's JSON mutants) and either deletes it or
    puts an arbitrary JSON value there. Findings never fail the draw: every example is kept.
    """
    outcomes: list[Outcome] = []
    unique = list({(m.part, m.target, m.location): m for m in locations if is_json_location(m)}.values())

    @seed(random_seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        base = data.draw(st.sampled_from(unique), label="location")
        if data.draw(st.booleans(), label="delete") and isinstance(base.location[-1], str):
            mutant = Mutant(base.part, base.group, base.target, base.location, "deleted", True)
        else:
            value = data.draw(JSON_VALUES, label="value")
            old = original_value(replay.document, base)
            mutant = Mutant(
                base.part,
                base.group,
                base.target,
                base.location,
                f"hypothesis value {json.dumps(value)[:40]}",
                _is_malformed(old, value),
                json.dumps(value),
            )
        outcomes.append(replay.run(mutant))

    draw()
    return outcomes[:count]
