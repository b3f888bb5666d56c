"""Mutation testing of controls/ with mutmut over the fast unit tests: is every pass condition pinned?

    pip install -e '.[bench]'           # mutmut is in the bench extra
    python -m bench.mutation_controls [--workdir DIR] [--max-children 2] [--survivors FILE]

A test suite can pass while the code is wrong: a `<=` that became `<`, a floor compared the wrong
way, a fail-closed branch that no test reaches. mutmut (3.x) changes the controls one small edit
at a time (a mutant) and runs the tests that call the changed function; a mutant that no test
notices "survives". This script:

1. snapshots the working tree (controls/, collectors/, reports/, tests/, demo/, bench/, conftest.py,
   pyproject.toml) into a work folder, so helpers editing the tree meanwhile do not disturb the run;
2. in the snapshot only, moves each `@control(...)` decorator below its function
   (`f = control(...)(f)`: the same function, marked the same way), because mutmut never mutates
   a decorated function and every control's pass condition lives in one;
3. configures mutmut there (`[tool.mutmut]` appended to the snapshot's pyproject.toml) to mutate
   controls/ and run the fast unit tests: FAST_TEST_FILES, minus tests marked `integration` and
   tests that start servers (SLOW_FIXTURES, SLOW_TESTS; this module is loaded as a pytest plugin
   to deselect them);
4. runs `mutmut run` and prints killed / survived / timeout / no tests per module, the score
   (killed + timeout over all mutants tried) and the wall time; every survivor's diff goes to
   `--survivors` (default: survivors.txt in the work folder).

The work folder is a fresh temporary folder unless `--workdir` is given; it is kept (mutmut's
results, `mutmut show NAME` run there shows a mutant).

One module of ~570 lines: it is both the command and the pytest plugin that mutmut's test runs
load in the snapshot (`PLUGIN`), and the two must agree on which tests each mutant meets.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ("controls", "collectors", "reports", "tests", "demo", "bench", "conftest.py", "pyproject.toml")
"""What the snapshot holds: the code under test, its tests and what they import or read."""
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "artifacts", "mutants", ".mypy_cache", ".ruff_cache")

FAST_TEST_FILES = (
    "tests/test_control_verdicts.py",
    "tests/test_pass_condition_boundaries.py",
    "tests/test_control_survivors.py",
    "tests/test_database_verdicts.py",
    "tests/test_db_encryption_verdicts.py",
    "tests/test_identity_sql_verdicts.py",
    "tests/test_network_compute_verdicts.py",
    "tests/test_web_storage_verdicts.py",
    "tests/test_waivers.py",
    "tests/test_windows_hosts.py",
    "tests/test_linux_hosts.py",
    "tests/test_exposure_probes.py",
    "tests/test_tls_verdict_edges.py",
    "tests/test_azure_role_permissions.py",
    "tests/test_attestation_verdicts.py",
    "tests/test_azure_fail_closed.py",
    "tests/test_linux_admins.py",
    "tests/test_policy_verdict_edges.py",
    "tests/test_trusted_network_edges.py",
)
"""The tests every mutant of controls/ is run against: a mutant that none of them fails survives.

Unit test files that call controls/ functions on literal or recorded facts (a file missing from
the snapshot is left out). Together they run in a few seconds, without servers, so every mutant
can afford them. A new test file that judges controls on literal facts belongs here: left out,
the mutants only it kills are counted as survivors. tests/test_tls_endpoints.py is not among them: nearly all its tests scan real nginx/openssl servers or run whole audits; the TLS
controls are judged on literal facts in tests/test_pass_condition_boundaries.py."""
SLOW_FIXTURES = {
    "namespace": "creates a network namespace (root, iproute2)",
}
"""Fixtures whose tests are deselected: they start servers or need root."""
SLOW_TESTS: dict[str, str] = {}
"""Tests, by function name, deselected because they start servers without a fixture."""
MUTATED = "controls/"
PLUGIN = "bench.mutation_controls"


# --- the pytest plugin: deselect what is not a fast unit test ---------------------------------------


def slow_reason(item: pytest.Item) -> str | None:
    """Return why a collected test is not a fast unit test (marked integration, starts servers), or None."""
    if item.get_closest_marker("integration") is not None:
        return "marked integration"
    name = getattr(item, "originalname", None) or item.name
    if name in SLOW_TESTS:
        return SLOW_TESTS[name]
    for fixture in getattr(item, "fixturenames", ()):
        if fixture in SLOW_FIXTURES:
            return SLOW_FIXTURES[fixture]
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests that start servers, so that each mutant runs only fast unit tests."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if slow_reason(item) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# --- the snapshot ---------------------------------------------------------------------------------


def snapshot(workdir: Path) -> None:
    """Copy the code, tests and settings the run needs from the working tree into `workdir`."""
    for name in SNAPSHOT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, workdir / name, ignore=IGNORED)
        elif source.exists():
            shutil.copy2(source, workdir / name)


def _is_control_decorator(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "control"


def undecorated(source: str) -> str:
    """Return a module's source with each `@control(...)` decorator moved below its function.

    `@control(...)` over `def f` becomes `def f` followed by `f = control(...)(f)`: the same
    function object is marked in the same way, but mutmut (which skips decorated functions)
    now mutates its body.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    moves = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and len(node.decorator_list) == 1:
            decorator = node.decorator_list[0]
            text = ast.get_source_segment(source, decorator)
            if _is_control_decorator(decorator) and text is not None and node.end_lineno is not None:
                moves.append((decorator.lineno, node.lineno, node.end_lineno, node.name, text))
    for decorator_line, def_line, end_line, name, text in reversed(moves):
        lines.insert(end_line, f"\n\n{name} = {text}({name})\n")
        del lines[decorator_line - 1 : def_line - 1]
    return "".join(lines)


def _is_evidence_call(node: ast.Expr) -> bool:
    return (
        isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and isinstance(node.value.func.value, ast.Name)
        and node.value.func.value.id == "evidence"
        and node.value.func.attr in EVIDENCE_CALLS
    )


def without_evidence_mutants(source: str) -> str:
    """Return a module's source with each `evidence.observed/expected/cite(...)` statement fenced off
    from mutation (`# pragma: no mutate start` / `end`): what a control records never decides its verdict.
    """
    lines = source.splitlines(keepends=True)
    calls = [
        node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Expr) and _is_evidence_call(node)
    ]
    for node in sorted(calls, key=lambda n: n.lineno, reverse=True):
        indent = " " * node.col_offset
        lines.insert(node.end_lineno or node.lineno, f"{indent}# pragma: no mutate end\n")
        lines.insert(node.lineno - 1, f"{indent}# pragma: no mutate start\n")
    return "".join(lines)


def undecorate_controls(controls: Path, *, mutate_evidence: bool = False) -> int:
    """Rewrite every module of the snapshot's controls/ with `undecorated` (and, unless `mutate_evidence`,
    `without_evidence_mutants`); return how many controls moved."""
    moved = 0
    for path in sorted(controls.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        rewritten = undecorated(source)
        moved += rewritten.count(" = control(")
        if not mutate_evidence:
            rewritten = without_evidence_mutants(rewritten)
        if rewritten != source:
            path.write_text(rewritten, encoding="utf-8")
    return moved


def toml_list(values: list[str]) -> str:
    """Return a TOML array of strings."""
    return "[" + ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


def configure_mutmut(workdir: Path) -> list[str]:
    """Append mutmut's settings to the snapshot's pyproject.toml; return the test files it runs."""
    tests = [name for name in FAST_TEST_FILES if (workdir / name).exists()]
    settings = {
        "source_paths": [MUTATED],
        "also_copy": ["collectors/", "reports/", "demo/", "bench/", "conftest.py"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", PLUGIN, "-q"],
        "pytest_add_cli_args_test_selection": tests,
    }
    body = "\n".join(f"{key} = {toml_list(value)}" for key, value in settings.items())
    with (workdir / "pyproject.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\n[tool.mutmut]\n{body}\nuse_git_change_detection = false\n")
    return tests


# --- results ----------------------------------------------------------------------------------------

UNCAUGHT = ("survived", "no tests")
"""Statuses of a mutant no test noticed: it survived the tests that call its function, or none does."""
EVIDENCE_CALLS = frozenset({"observed", "expected", "cite"})
MESSAGE_LISTS = frozenset(
    {
        "problems",
        "findings",
        "unreadable",
        "missing",
        "offending",
        "shadowed",
        "described",
        "overdue",
        "shown",
    }
)
"""Lists a control fills with sentences for its message: what is appended is wording, not a condition."""
EXCEPTIONS = frozenset({"EvidenceMissing", "AssertionError", "NotApplicable", "ValueError", "TypeError"})


@dataclass
class ModuleScore:
    """How the mutants of one module of controls/ fared."""

    statuses: Counter[str] = field(default_factory=Counter)
    uncaught: dict[str, str] = field(default_factory=dict)
    """Uncaught mutants' names and statuses (survived, no tests)."""

    @property
    def tried(self) -> int:
        """Mutants counted in the score: killed, timed out, survived, or reached by no test."""
        return sum(self.statuses[s] for s in ("killed", "timeout", *UNCAUGHT))

    @property
    def score(self) -> float:
        """Killed and timed-out mutants over the mutants counted, in percent (100 when none was)."""
        caught = self.statuses["killed"] + self.statuses["timeout"]
        return 100.0 * caught / self.tried if self.tried else 100.0


def read_scores(workdir: Path) -> dict[str, ModuleScore]:
    """Return each mutated module's statuses and uncaught mutants, from mutmut's result files in `workdir`."""
    import json

    from mutmut.stats import status_by_exit_code

    scores: dict[str, ModuleScore] = {}
    for meta in sorted((workdir / "mutants" / MUTATED).rglob("*.py.meta")):
        module = meta.relative_to(workdir / "mutants").as_posix().removesuffix(".meta")
        data = json.loads(meta.read_text(encoding="utf-8"))
        score = scores.setdefault(module, ModuleScore())
        for key, code in sorted(data["exit_code_by_key"].items()):
            status = status_by_exit_code[code]
            score.statuses[status] += 1
            if status in UNCAUGHT:
                score.uncaught[key] = status
    return scores


def print_scores(scores: dict[str, ModuleScore], seconds: float) -> None:
    """Print killed / survived / timeout / no tests per module, the total and the wall time."""
    columns = ("killed", "timeout", "survived", "no tests")
    print(f"{'module':<48}" + "".join(f"{c:>10}" for c in columns) + f"{'score':>8}")
    total = ModuleScore()
    for module, score in sorted(scores.items()):
        total.statuses.update(score.statuses)
        if score.tried:
            counts = "".join(f"{score.statuses[c]:>10}" for c in columns)
            print(f"{module:<48}{counts}{score.score:>7.1f}%")
    counts = "".join(f"{total.statuses[c]:>10}" for c in columns)
    print(f"{'total':<48}{counts}{total.score:>7.1f}%")
    other = {s: n for s, n in total.statuses.items() if s not in columns}
    if other:
        print("other statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(other.items())))
    print(
        f"mutation score {total.score:.1f}% ({total.tried} mutants counted); wall time {seconds / 60:.1f} min"
    )


Step = tuple[ast.AST, str | None]
"""A node on the way down to a mutation, and the field of it the way continues through."""


def divergence(original: ast.AST, mutant: ast.AST) -> list[Step]:
    """Return the (node, field) steps from `original` down to the smallest node `mutant` changes."""
    path: list[Step] = []
    node, other = original, mutant
    while True:
        if type(node) is not type(other):
            return [*path, (node, None)]
        differing: list[tuple[str, ast.AST, ast.AST]] = []
        for name in node._fields:
            left, right = getattr(node, name, None), getattr(other, name, None)
            if isinstance(left, list):
                if not isinstance(right, list) or len(left) != len(right):
                    return [*path, (node, name)]
                pairs = list(zip(left, right, strict=True))
            else:
                pairs = [(left, right)]
            for a, b in pairs:
                if isinstance(a, ast.AST) and isinstance(b, ast.AST):
                    if ast.dump(a) != ast.dump(b):
                        differing.append((name, a, b))
                elif a != b:
                    return [*path, (node, name)]
        if len(differing) != 1:
            return [*path, (node, None)]
        name, child, other = differing[0]
        path.append((node, name))
        node = child


TEXT_FUNCTIONS = re.compile(r"(_text|_label|_attachment|describe)__mutmut_orig$")
"""Functions that only build text for messages and evidence (`vm_disk_encryption_text`, `_patch_label`)."""


def step_kind(node: ast.AST, name: str | None, in_element: bool) -> str | None:
    """Return "message" or "evidence" when a change through `node`'s field `name` is only text, else None.

    `in_element`: the change lies in the element of a comprehension (not in what it iterates).
    """
    if isinstance(node, ast.Assert) and name == "msg":
        return "message"
    if isinstance(node, ast.JoinedStr):
        return "message"
    if isinstance(node, ast.Call) and name in ("args", "keywords"):
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "evidence" and func.attr in EVIDENCE_CALLS:
                return "evidence"
            if func.value.id in MESSAGE_LISTS and (func.attr == "append" or in_element):
                return "message"
        if isinstance(func, ast.Name) and func.id in EXCEPTIONS:
            return "message"
    return None


def parent_fields(function: ast.AST) -> dict[int, tuple[ast.AST, str]]:
    """Return each node's parent and the parent's field holding it, by the node's id()."""
    parents: dict[int, tuple[ast.AST, str]] = {}
    for parent in ast.walk(function):
        for name, value in ast.iter_fields(parent):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    parents[id(child)] = (parent, name)
    return parents


def assigned_name(node: ast.AST) -> str | None:
    """Return the variable an assignment statement fills (`x = ...`, `x += ...`, `x["k"] = ...`), or None."""
    targets = (
        node.targets
        if isinstance(node, ast.Assign)
        else [node.target]
        if isinstance(node, ast.AugAssign | ast.AnnAssign)
        else []
    )
    for target in targets:
        while isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name):
            return target.id
    return None


def text_kind(
    function: ast.FunctionDef, node: ast.AST, field_name: str | None, seen: frozenset[str] = frozenset()
) -> str:
    """Return what a change at `node` (through its field `field_name`) can alter: "message", "evidence" or "condition".

    A change is text only when it sits inside `evidence.observed/expected/cite(...)`, an
    f-string, an `assert`'s message, an exception's arguments, a sentence appended to a list of
    problems, a function that only builds text, or an assignment to a variable whose every use
    is one of those. Everything else is treated as a pass condition.
    """
    if TEXT_FUNCTIONS.search(function.name):
        return "message"
    parents = parent_fields(function)
    current: ast.AST | None = node
    name = field_name
    in_element = False
    while current is not None and current is not function:
        if isinstance(current, ast.GeneratorExp | ast.ListComp | ast.SetComp):
            in_element = name == "elt"
        kind = step_kind(current, name, in_element)
        if kind:
            return kind
        variable = assigned_name(current) if isinstance(current, ast.stmt) else None
        if variable is not None and variable in seen:
            return "same variable"
        if variable is not None:
            uses = [
                n
                for n in ast.walk(function)
                if isinstance(n, ast.Name) and n.id == variable and isinstance(n.ctx, ast.Load)
            ]
            kinds = {text_kind(function, use, None, seen | {variable}) for use in uses} - {"same variable"}
            if kinds <= {"message", "evidence"}:
                return "evidence" if kinds == {"evidence"} else "message"
            return "condition"
        current, name = parents.get(id(current), (None, None))
    return "condition"


def equivalent(original: ast.FunctionDef, path: list[Step]) -> bool:
    """Return True for two mutations that cannot change any result.

    `x or ""` becoming `x or "XXXX"` (an empty default compared with a real value either way),
    and the maxsplit of `text.split(sep, 1)[0]` or `text.rsplit(sep, 1)[-1]` changed (the first
    part before, or the last part after, a separator does not depend on how often it splits).
    """
    node, _ = path[-1] if path else (original, None)
    parents = parent_fields(original)
    parent, _field = parents.get(id(node), (original, ""))
    if isinstance(node, ast.Constant) and node.value == "" and isinstance(parent, ast.BoolOp):
        return isinstance(parent.op, ast.Or) and parent.values[-1] is node
    call = parent if isinstance(node, ast.Constant) and isinstance(node.value, int) else node
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
        holder, _ = parents.get(id(call), (original, ""))
        if isinstance(holder, ast.Subscript) and isinstance(holder.slice, ast.Constant | ast.UnaryOp):
            index = ast.literal_eval(holder.slice)
            return (call.func.attr, index) in (("split", 0), ("rsplit", -1))
    return False


def mutant_functions(source: Path) -> dict[str, ast.FunctionDef]:
    """Return every function of a mutmut-generated module by name (originals and mutants)."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def classify(workdir: Path, module: str, names: list[str]) -> dict[str, str]:
    """Return each uncaught mutant's kind of change (see `kind_of_change`), by mutant name."""
    functions = mutant_functions(workdir / "mutants" / module)
    kinds = {}
    for name in names:
        function = name.rsplit(".", 1)[-1]
        original = functions.get(re.sub(r"__mutmut_\d+$", "__mutmut_orig", function))
        mutant = functions.get(function)
        if original is None or mutant is None:
            kinds[name] = "condition"
            continue
        renamed = copy.copy(mutant)
        renamed.name = original.name
        path = divergence(original, renamed)
        node, field_name = path[-1] if path else (original, None)
        if equivalent(original, path):
            kinds[name] = "equivalent"
        else:
            kinds[name] = text_kind(original, node, field_name)
    return kinds


def write_uncaught(workdir: Path, scores: dict[str, ModuleScore], out: Path) -> Counter[str]:
    """Write every uncaught mutant's diff to `out`, conditions first; return how many of each kind."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    kinds: dict[str, str] = {}
    for module, score in scores.items():
        kinds.update(classify(workdir, module, list(score.uncaught)))
    counted: Counter[str] = Counter(kinds.values())
    here = Path.cwd()
    os.chdir(workdir)
    try:
        with out.open("w", encoding="utf-8") as text:
            for kind in ("condition", "equivalent", "message", "evidence"):
                text.write(f"######## {kind}: {counted[kind]}\n")
                for module, score in sorted(scores.items()):
                    for name, status in score.uncaught.items():
                        if kinds[name] != kind:
                            continue
                        diff = get_diff_for_mutant(name, path=module)
                        changed = [
                            line
                            for line in diff.splitlines()
                            if line[:1] in "+-" and not line.startswith(("+++", "---"))
                        ]
                        text.write(f"## {name} ({status})\n")
                        text.writelines(f"   {line.strip()}\n" for line in changed)
    finally:
        os.chdir(here)
    return counted


def main(argv: list[str] | None = None) -> int:
    """Snapshot, undecorate, configure and run mutmut; print the score per module. Returns mutmut's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--workdir", type=Path, help="an empty or absent folder (default: a new temporary one)"
    )
    parser.add_argument("--max-children", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--survivors", type=Path, help="file for the uncaught mutants' diffs")
    parser.add_argument(
        "--report-only", action="store_true", help="do not run: report the results already in --workdir"
    )
    parser.add_argument(
        "--mutate-evidence",
        action="store_true",
        help="also mutate evidence.observed/expected/cite calls (slow: almost all of them survive)",
    )
    parser.add_argument(
        "--without-tests",
        nargs="*",
        default=[],
        metavar="FILE",
        help="leave these test files out (e.g. to measure the score before they were written)",
    )
    args = parser.parse_args(argv)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="mutation-controls-"))).resolve()
    survivors = (args.survivors or workdir / "survivors.txt").resolve()
    seconds = 0.0
    returncode = 0
    if not args.report_only:
        if workdir.exists() and any(workdir.iterdir()):
            print(f"--workdir {workdir} is not empty", file=sys.stderr)
            return 4
        workdir.mkdir(parents=True, exist_ok=True)
        snapshot(workdir)
        moved = undecorate_controls(workdir / "controls", mutate_evidence=args.mutate_evidence)
        for name in args.without_tests:
            (workdir / name).unlink(missing_ok=True)
        tests = configure_mutmut(workdir)
        print(f"work folder {workdir}: {moved} controls undecorated; tests: {' '.join(tests)}", flush=True)
        started = time.monotonic()
        log = workdir / "mutmut.log"
        with log.open("w", encoding="utf-8") as output:
            run = subprocess.run(
                [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
                cwd=workdir,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        seconds = time.monotonic() - started
        returncode = run.returncode
        if returncode != 0:
            print(f"mutmut exited {returncode}; its output is in {log}", file=sys.stderr)
    scores = read_scores(workdir)
    print_scores(scores, seconds)
    counted = write_uncaught(workdir, scores, survivors)
    print(
        f"uncaught mutants by kind of change: {counted['condition']} condition, {counted['equivalent']} "
        f"equivalent, {counted['message']} message wording, {counted['evidence']} evidence formatting; "
        f"diffs in {survivors}"
    )
    return returncode


if __name__ == "__main__":
    sys.exit(main())
