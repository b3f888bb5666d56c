"""Mutation replay of a recording: does a malformed observation crash the run or turn a failure into a pass?

`python -m bench.mutation_replay` (`__main__.py`) replays every mutant of the demo recording;
tests/test_mutation_replay.py replays a seeded sample in CI. The modules:

- `mutants`: the mutants of a recording (every observation made absent, null, mistyped or cut)
  and how one is applied;
- `evaluator`: an in-process audit of one (config, recording) pair, as `pytest controls/` decides;
- `replay`: `Replay` runs one mutant against the unmutated audit and names its findings
  (crash, flip, plausible flip, lost), `Tally` counts them per part and group;
- `hypothesis_draws`: mutants drawn by hypothesis instead of enumerated (`--compare`).
"""
