"""Not a control: the probe that a control module's bare `assert` really raises.

conftest.py imports this module before anything is collected, the same way pytest imports every
control module (with its assertion rewriting, or without it under `--assert=plain`), and calls
`probe_assert_false()`. If that returns, assert statements are compiled away in control modules
(`python -O`, `PYTHONOPTIMIZE=1`, ...) and every control would pass: the run is refused (exit 4).
It holds no test function, so pytest collects nothing from it.
"""

from __future__ import annotations


def probe_assert_false() -> None:
    """Execute `assert False`; return normally only when assert statements do not run here."""
    assert False, "assert statements run in control modules"  # noqa: B011, PT015
