"""pytest glue: audit options, config loading, fact collection, one item per control x subject.

`pytest controls/` audits; `pytest tests/` tests the auditor itself and loads no config.
"""

# ruff: noqa: E402 (the imports follow gc.disable(), below)
from __future__ import annotations

import gc

# Timing: the imports below (the SDKs, pydantic models, the catalog) make some 300,000 objects
# that live until the process ends; the garbage collector's passes over them while they are
# made find nothing to free and cost about 0.3 s of every start. Enabled again right after.
gc.disable()

import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from collectors.azure.arm import ArmUnavailable
from collectors.config.policy import Policy
from collectors.estate import Estate, collect_estate, configured_sources
from collectors.recording import Recording, RecordingError
from controls.catalog import CONTROLS
from controls.framework import Evidence, OutOfScope, assertions_off_reason, control_of, fact_parameter
from controls.harness.archiving import archive_problem
from controls.harness.audit_session import EVIDENCE_KEY, AuditSession
from controls.harness.config_file import AuditConfig, ConfigError, load_config
from controls.harness.credentials import check_credentials
from controls.harness.exit_codes import exit_codes_help
from controls.harness.output_paths import file_problem, folder_problem
from reports.changes import BaselineError, load_bundle
from reports.manifest import SigningKeyError, check_signing_key
from reports.pdf import chromium_missing_reason

gc.enable()

ROOT = Path(__file__).resolve().parent
CONTROLS_DIR = ROOT / "controls"
DEMO_CONFIG = ROOT / "demo" / "audit.toml"
DEMO_RECORDING = ROOT / "demo" / "recording.json"
SESSION_KEY = pytest.StashKey[AuditSession]()
UNUSED_PLUGINS = ("hypothesispytest",)
"""Installed pytest plugins an audit never uses: hypothesis's imports hypothesis (0.1 s, 0.6 s
without cached bytecode) in its terminal summary, after every run. No control is a hypothesis test."""


def _settle_heap() -> None:
    """Take every object alive now out of the cyclic garbage collector's walks (`gc.freeze`).

    Timing only, in an audit process. The run builds a large heap in phases that then live until
    it ends: modules and config, the collected facts, the test items, the results. Without this,
    every later full collection, pytest's at its end and the interpreter's at exit walk all of it
    again: about 2 s of a 2,700-item replay (bench/startup_bundle.py). Frozen objects are still
    freed by reference counting; a cycle among them that dies later is freed when the process
    ends, which an audit process does right after its run.
    """
    gc.freeze()


def pytest_addoption(parser: pytest.Parser) -> None:
    # argparse prints a group's title verbatim: the exit codes head the audit options in --help.
    group = parser.getgroup(
        "audit", f"statement audit (pytest controls/)\n{exit_codes_help()}\nstatement audit options"
    )
    group.addoption(
        "--audit-config",
        metavar="PATH",
        default="audit.toml",
        help="the audit configuration (default: ./audit.toml; see audit.example.toml)",
    )
    group.addoption(
        "--evidence-dir",
        metavar="DIR",
        default=None,
        help="where evidence.json and report.html go (default: evidence/<UTC timestamp>/)",
    )
    group.addoption(
        "--record",
        metavar="FILE",
        default=None,
        help="store every raw ARM response, host output, TLS scan and probe of this run in FILE, for --replay",
    )
    group.addoption(
        "--replay",
        metavar="FILE",
        default=None,
        help="evaluate the controls from a recording made with --record; no network is used",
    )
    group.addoption(
        "--as-of",
        metavar="YYYY-MM-DD",
        default=None,
        help="the date expiries and ages are judged on (default: today in UTC, "
        "or the recorded run's date with --replay)",
    )
    group.addoption(
        "--demo",
        action="store_true",
        default=False,
        help="audit the bundled demo estate (demo/audit.toml replayed from demo/recording.json)",
    )
    group.addoption(
        "--report-lang",
        choices=("en", "nl"),
        default="en",
        help="language of the HTML report: en (default) or nl (the statement's language)",
    )
    group.addoption(
        "--baseline",
        metavar="DIR",
        default=None,
        help="the previous night's evidence folder to compare against (default: the latest earlier "
        "bundle found beside or in --evidence-dir)",
    )
    group.addoption(
        "--report-pdf",
        action="store_true",
        default=False,
        help="also print the report to report.pdf with headless Chromium (when installed)",
    )
    group.addoption(
        "--tickets",
        choices=("off", "dry-run", "on"),
        default=None,
        help="turn failing controls into tickets: off, dry-run (print the plan, call nothing that "
        "writes) or on; overrides [tickets] mode (default: the config's mode, else off)",
    )
    group.addoption(
        "--allow-empty-scope",
        action="store_true",
        default=False,
        help="accept a run with nothing in scope (a config naming no source, or every item not "
        "applicable) with exit 0 instead of 4",
    )


def _audits(config: pytest.Config) -> bool:
    """Return True when this session evaluates controls (its paths include controls/)."""
    paths = config.args or [str(ROOT / p) for p in config.getini("testpaths")]
    for arg in paths:
        target = (Path(config.invocation_params.dir) / arg.split("::")[0]).resolve()
        if target == CONTROLS_DIR or CONTROLS_DIR in target.parents or target in CONTROLS_DIR.parents:
            if target == ROOT and config.args:
                continue  # `pytest .` runs the auditor's own tests too; audit only when asked
            return True
    return False


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(f"{option}: {text!r} is not a date (expected YYYY-MM-DD)") from None


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help", False) or config.getoption("version", False) or not _audits(config):
        return
    assertions_off = assertions_off_reason()
    if assertions_off is not None:
        raise pytest.UsageError(assertions_off)
    demo = config.getoption("--demo")
    config_path = DEMO_CONFIG if demo else Path(config.getoption("--audit-config"))
    replay_option = str(DEMO_RECORDING) if demo else config.getoption("--replay")
    record_option = config.getoption("--record")
    if replay_option and record_option:
        raise pytest.UsageError("--record and --replay exclude each other")
    try:
        audit_config = load_config(config_path, known_controls=frozenset(CONTROLS))
        replay = Recording.load(Path(replay_option)) if replay_option else None
    except (ConfigError, RecordingError) as exc:
        raise pytest.UsageError(str(exc)) from None
    started = datetime.now(UTC)
    as_of = config.getoption("--as-of")
    if as_of:
        run_date = _parse_date(as_of, "--as-of")
    elif replay is not None:
        run_date = _parse_date(replay.run_date, f"{replay_option}: run_date")
    else:
        run_date = started.date()
    evidence_dir = config.getoption("--evidence-dir") or f"evidence/{started.strftime('%Y%m%dT%H%M%SZ')}"
    if config.getoption("--report-pdf"):
        missing = chromium_missing_reason()
        if missing is not None:
            raise pytest.UsageError(f"--report-pdf: {missing}")
    baseline = _checked_baseline(config.getoption("--baseline"))
    _check_outputs(Path(evidence_dir), Path(record_option) if record_option else None)
    try:
        check_signing_key()
    except SigningKeyError as exc:
        raise pytest.UsageError(str(exc)) from None
    allow_empty_scope = bool(config.getoption("--allow-empty-scope"))
    if not allow_empty_scope and not configured_sources(audit_config):
        raise pytest.UsageError(
            f"{config_path}: nothing in scope: the config names no source to audit ([azure], [[hosts]], "
            "[[endpoints]], [[probes]], [[databases]], [[attestations]] or [[subprocessors]]); "
            "pass --allow-empty-scope if an empty scope is expected"
        )
    tickets_mode = config.getoption("--tickets") or (
        audit_config.tickets.mode if audit_config.tickets is not None else "off"
    )
    if tickets_mode != "off" and audit_config.tickets is None:
        raise pytest.UsageError(f"--tickets {tickets_mode}: {config_path} has no [tickets] section")
    try:
        check_credentials(audit_config, os.environ, collecting=replay is None, tickets_mode=tickets_mode)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    unusable_archive = archive_problem(audit_config, os.environ)
    if unusable_archive is not None:
        raise pytest.UsageError(unusable_archive)
    session = AuditSession(
        audit_config,
        run_date=run_date,
        evidence_dir=Path(evidence_dir),
        mode="replay" if replay else ("record" if record_option else "live"),
        recording_path=Path(record_option) if record_option else None,
        report_lang=config.getoption("--report-lang"),
        report_pdf=config.getoption("--report-pdf"),
        baseline=baseline,
        tickets_mode=tickets_mode,
        allow_empty_scope=allow_empty_scope,
    )
    if replay_option:
        session.run.recording = {"path": str(replay_option), "sha256": _file_sha256(Path(replay_option))}
    session.replay = replay
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "audit-session")
    for name in UNUSED_PLUGINS:
        config.pluginmanager.set_blocked(name)
    _settle_heap()


def _checked_baseline(option: str | None) -> Path | None:
    """Return the --baseline folder once its evidence.json is known to be comparable; exit 4 otherwise."""
    if not option:
        return None
    if not (Path(option) / "evidence.json").is_file():
        raise pytest.UsageError(f"--baseline: {option} holds no evidence.json")
    try:
        load_bundle(Path(option))
    except BaselineError as exc:
        raise pytest.UsageError(f"--baseline: {exc}") from None
    return Path(option)


def _check_outputs(evidence_dir: Path, record: Path | None) -> None:
    """Refuse (exit 4) an evidence folder or recording file the run could not write, before collecting."""
    problem = folder_problem(evidence_dir)
    if problem is not None:
        raise pytest.UsageError(f"--evidence-dir {evidence_dir}: {problem}")
    if record is not None:
        problem = file_problem(record)
        if problem is not None:
            raise pytest.UsageError(f"--record {record}: {problem}")


def _file_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def pytest_sessionstart(session: pytest.Session) -> None:
    audit = session.config.stash.get(SESSION_KEY, None)
    if audit is None:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")

    def progress(line: str) -> None:
        if reporter is not None:
            reporter.write_line(line)

    try:
        if audit.config.distributed is not None and audit.replay is None:
            audit.estate = _collect_at_sites(audit, progress)
        else:
            audit.estate = collect_estate(
                audit.config,
                run_date=audit.run_date,
                record=audit.recording_path,
                replay=audit.replay,
                progress=progress,
            )
    except ArmUnavailable as exc:
        raise pytest.UsageError(f"{audit.config.path}: [azure]: {exc}") from None
    _settle_heap()


def _collect_at_sites(audit: AuditSession, progress: Callable[[str], None]) -> Estate:
    """The estate of a run spread over sites; an unreachable broker ends the run (exit 4)."""
    # Imported here: Celery and redis (about 0.3 s of imports) serve only [distributed] runs.
    from controls.harness.sites_run import BrokerUnavailable, collect_at_sites

    try:
        return collect_at_sites(audit.config, audit.run_date, audit.recording_path, progress)
    except BrokerUnavailable as exc:
        raise pytest.UsageError(f"{audit.config.path}: {exc}") from None


def pytest_collection_finish(session: pytest.Session) -> None:
    if SESSION_KEY in session.config.stash:
        _settle_heap()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if SESSION_KEY in session.config.stash:
        _settle_heap()  # the results, before the bundle is built from them


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        _settle_heap()  # nothing is left to collect: skip pytest's and the interpreter's walks at exit


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    found = control_of(metafunc.definition)
    if found is None:
        return
    spec, over = found
    audit = metafunc.config.stash.get(SESSION_KEY, None)
    if audit is None or audit.estate is None:
        raise pytest.UsageError(f"control {spec.id} can only run in an audit session (pytest controls/)")
    population = audit.estate.store.get(over)
    if population is None:
        raise RuntimeError(f"control {spec.id} is over {over!r}, which no collector fills")
    name = fact_parameter(metafunc.function)
    if population.out_of_scope or not population.subjects:
        reason = population.out_of_scope or population.empty_reason
        metafunc.parametrize(name, [OutOfScope(reason)], ids=["not-applicable"])
    else:
        subjects = sorted(population.subjects, key=lambda s: s.id)
        metafunc.parametrize(name, subjects, ids=[s.id for s in subjects])
    metafunc.definition.extra_keyword_matches.add(spec.id)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        found = control_of(item)
        if found is not None:
            item.extra_keyword_matches.update({found[0].id, found[0].clause})


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """The evidence recorder of one control item, pre-filled with its subject's sources."""
    node = request.node
    subject = node.callspec.params.get(fact_parameter(node.obj)) if hasattr(node, "callspec") else None
    recorder = Evidence(subject if subject is not None and not isinstance(subject, OutOfScope) else None)
    node.stash[EVIDENCE_KEY] = recorder
    return recorder


@pytest.fixture
def policy(request: pytest.FixtureRequest) -> Policy:
    """The [policy] in force for this run."""
    return request.config.stash[SESSION_KEY].config.policy


@pytest.fixture
def run_date(request: pytest.FixtureRequest) -> date:
    """The date that expiries and ages are judged on (today in UTC, or --as-of)."""
    return request.config.stash[SESSION_KEY].run_date


@pytest.fixture
def audit_config(request: pytest.FixtureRequest) -> AuditConfig:
    """The whole validated configuration of this run."""
    return request.config.stash[SESSION_KEY].config
