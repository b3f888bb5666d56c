"""The pytest side of one audit run: turns control items into verdicts and writes the evidence.

Registered by conftest.py when the run evaluates controls. It substitutes each subject's
fact into its control, maps the outcome to pass / fail / error / waived / not_applicable,
applies waivers, and writes the evidence bundle at the end of the session.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Generator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from collectors.estate import NO_SCOPE, Estate
from collectors.facts import Subject
from collectors.recording import Recording
from controls.catalog import catalog_entries
from controls.framework import (
    Evidence,
    EvidenceMissing,
    NotApplicable,
    OutOfScope,
    control_of,
    fact_parameter,
    judge,
)
from controls.harness import archiving
from controls.harness.config_file import AuditConfig
from controls.harness.exit_codes import EXIT_NOT_ARCHIVED, EXIT_OUTPUT_NOT_WRITTEN, EXIT_USAGE
from controls.waivers import WaiverCoverage, apply_waivers, waiver_coverage
from reports.bundle import ReportNotRendered, RunFacts, build_bundle, write_bundle
from reports.evidence import Message, ResultRecord, Status, WaiverUse, msg, to_json, utc_now
from reports.i18n.translation import Language, english, translator
from reports.manifest import SigningKeyError, file_sha256
from reports.pdf import PdfError
from reports.tickets.run import describe_plan, run_tickets

EVIDENCE_KEY = pytest.StashKey[Evidence]()
OUTCOME_WORDS: dict[Status, tuple[str, str, str]] = {
    "pass": ("passed", ".", "PASS"),
    "fail": ("failed", "F", "FAIL"),
    "error": ("error", "E", "ERROR"),
    "waived": ("waived", "w", "WAIVED"),
    "not_applicable": ("not applicable", "n", "NOT APPLICABLE"),
}


class AuditSession:
    """Verdicts and evidence of the control items of one pytest session."""

    def __init__(
        self,
        config: AuditConfig,
        *,
        run_date: date,
        evidence_dir: Path,
        mode: str,
        recording_path: Path | None,
        report_lang: Language = "en",
        report_pdf: bool = False,
        baseline: Path | None = None,
        tickets_mode: str = "off",
        allow_empty_scope: bool = False,
    ) -> None:
        self.config = config
        self.run_date = run_date
        self.evidence_dir = evidence_dir
        self.recording_path = recording_path
        self.report_lang = report_lang
        self.report_pdf = report_pdf
        self.baseline = baseline
        self.tickets_mode = tickets_mode
        self.allow_empty_scope = allow_empty_scope
        self.ticket_lines: list[str] = []
        self.output_problems: list[str] = []
        """What could not be written at the end (each names the file and why): exit 6."""
        self.scope_problem: str | None = None
        """Every evaluated item is not_applicable and --allow-empty-scope was not given: exit 4."""
        self.notes: list[str] = []
        self.estate: Estate | None = None
        self.replay: Recording | None = None
        self.results: list[ResultRecord] = []
        self.report_path: Path | None = None
        self.archive: archiving.NightArchive | None = None
        self.run = RunFacts(
            started_at=utc_now(),
            config_path=config.path,
            config_sha256=config.sha256,
            policy=config.policy.model_dump(mode="json"),
            mode=mode,
            command=shlex.join(["pytest", *sys.argv[1:]]),
            run_date=run_date.isoformat(),
        )

    # -- evaluation -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Call a control with its subject's fact; a subject without one never reaches the control."""
        if control_of(pyfuncitem) is None:
            return None
        name = fact_parameter(pyfuncitem.obj)
        subject = pyfuncitem.callspec.params[name]
        if isinstance(subject, OutOfScope):
            raise NotApplicable(subject.reason)
        assert isinstance(subject, Subject)
        if subject.error is not None:
            raise EvidenceMissing(subject.error)
        arguments = {arg: pyfuncitem.funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}
        arguments[name] = subject.fact
        pyfuncitem.obj(**arguments)
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        """Turn the pytest outcome of a control item into its verdict and evidence record."""
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        found = control_of(item)
        if found is None or not isinstance(item, pytest.Function):
            return
        if call.when == "setup" and report.passed:
            return
        if call.when == "teardown" and (report.passed or report.skipped):
            return
        spec, _ = found
        subject = item.callspec.params[fact_parameter(item.obj)]
        resource = subject.id if isinstance(subject, Subject) else f"{spec.id}:not-applicable"
        exc = call.excinfo.value if call.excinfo is not None else None
        evidence = item.stash.get(EVIDENCE_KEY, None)
        verdict = judge(exc, evidence)
        if call.when != "call":
            verdict = type(verdict)(
                "error", msg("{step} failed: {finding}", step=call.when, finding=verdict.finding)
            )
        waived = apply_waivers(verdict, self.config.waivers, spec.id, resource, self.run_date)
        status, finding = waived.verdict.status, waived.verdict.finding
        message = translator(self.report_lang).render(finding)
        record = ResultRecord(
            control=spec.id,
            clause=spec.clause,
            title=spec.title,
            severity=spec.severity,
            resource=resource,
            status=status,
            message=message,
            nodeid=item.nodeid,
            finding=finding,
            observed=self._in_words(evidence.observations) if evidence else {},
            expected=self._in_words(evidence.expectations) if evidence else {},
            sources=list(evidence.sources) if evidence else [],
            waiver=WaiverUse(
                resource_pattern=waived.waiver.resource,
                justification=waived.waiver.justification,
                approved_by=waived.waiver.approved_by,
                expires=waived.waiver.expires.isoformat(),
                expired=waived.expired,
            )
            if waived.waiver
            else None,
            duration_seconds=call.duration,
        )
        self.results.append(record)
        report.user_properties.append(("audit_status", status))
        if status in ("pass",):
            report.outcome = "passed"
        elif status in ("fail", "error"):
            report.outcome = "failed"
            report.longrepr = f"[{status.upper()}] {resource}: {english(finding)}"
        else:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"{status}: {english(finding)}")

    def _in_words(self, values: dict[str, Any]) -> dict[str, Any]:
        """Return observed or expected values with every Message (at any depth) rendered in the run's
        language, and everything else as JSON."""
        tr = translator(self.report_lang)

        def words(value: Any) -> Any:
            if isinstance(value, Message):
                return tr.render(value)
            if isinstance(value, dict):
                return {str(k): words(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [words(v) for v in value]
            return to_json(value)

        return {k: words(v) for k, v in values.items()}

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        """Show the five audit statuses in pytest's progress line and summary."""
        for key, value in getattr(report, "user_properties", ()):
            if key == "audit_status" and value in OUTCOME_WORDS:
                status: Status = value
                return OUTCOME_WORDS[status]
        return None

    # -- evidence ---------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the recording and the evidence bundle; set the exit code when either failed.

        The recording is saved first but its failure never costs the bundle: each output is
        written on its own, and whatever could not be written is named (exit 6). No bundle is
        written when no control was selected (exit 5), or when the run was interrupted or hit
        an internal error (exit 2 / 3): an incomplete run is no evidence. A run whose every
        item is not_applicable writes its bundle, then exits 4 (unless --allow-empty-scope).
        """
        self._save_recording()
        if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
            self.notes.append("the run did not complete: no evidence bundle written")
        elif not self.results:
            if self.estate is not None:
                self.notes.append("no control was selected: nothing evaluated, no evidence bundle written")
        else:
            self._write_bundle()
            if not self.allow_empty_scope and all(r.status == "not_applicable" for r in self.results):
                self.scope_problem = (
                    f"nothing in scope: every evaluated control is not applicable under {self.config.path} "
                    f"(the not-applicable reasons in {self.evidence_dir / 'evidence.json'} say why); "
                    "pass --allow-empty-scope if an empty scope is expected"
                )
                session.exitstatus = EXIT_USAGE
        if self.archive is not None and self.archive.problems:
            session.exitstatus = EXIT_NOT_ARCHIVED
        if self.output_problems:
            session.exitstatus = EXIT_OUTPUT_NOT_WRITTEN

    def _save_recording(self) -> None:
        """Write the --record file; a failure is recorded as an output problem, never raised."""
        if self.estate is None or self.estate.recording is None or self.recording_path is None:
            return
        try:
            self.estate.recording.save(self.recording_path)
            self.run.recording = {
                "path": str(self.recording_path),
                "sha256": file_sha256(self.recording_path),
            }
        except OSError as exc:
            self.output_problems.append(
                f"--record {self.recording_path}: the recording could not be written "
                f"({exc.strerror or type(exc).__name__}); the evidence bundle is written without it"
            )

    def _write_bundle(self) -> None:
        """Build and write the evidence bundle; a failure to write part of it is an output problem."""
        self.run.finished_at = utc_now()
        scope = (
            self.estate.scope_json(translator(self.report_lang).render)
            if self.estate is not None
            else NO_SCOPE
        )
        bundle = build_bundle(self.run, catalog_entries(), scope, self.results, waivers=self._waivers_json())
        if self.tickets_mode != "off":
            bundle["tickets"] = self._tickets(bundle)
        if self.config.archive is not None:
            self.archive = archiving.prepare(self.config, os.environ, self.run_date, self.run.started_at)
            bundle["trends"] = archiving.trends(
                self.config, self.evidence_dir, os.environ, self.run_date, bundle["results"]
            )
        sealed = True
        try:
            self.report_path = write_bundle(
                self.evidence_dir,
                bundle,
                lang=self.report_lang,
                pdf=self.report_pdf,
                baseline=self.baseline,
                sealed_files=self.archive.sealed_files() if self.archive is not None else None,
            )
        except ReportNotRendered as exc:
            self.report_path = None
            self.output_problems.append(str(exc))
        except (PdfError, SigningKeyError) as exc:
            self.report_path = self.evidence_dir / "report.html"
            self.output_problems.append(f"{exc} (the rest of the bundle is written and sealed)")
        except OSError as exc:
            self.report_path = None
            sealed = False
            where = exc.filename or self.evidence_dir
            self.output_problems.append(
                f"--evidence-dir {self.evidence_dir}: the evidence bundle could not be written "
                f"({where}: {exc.strerror or type(exc).__name__})"
            )
        if self.archive is not None:
            if not sealed:
                self.archive.problems.append("the bundle was not archived: it could not be written")
            else:
                archiving.finish(self.config, self.archive, self.evidence_dir, os.environ)

    def _coverage(self) -> list[WaiverCoverage]:
        return waiver_coverage(
            self.config.waivers, ((r.control, r.resource) for r in self.results), self.run_date
        )

    def _waivers_json(self) -> list[dict[str, Any]]:
        """Return every configured waiver with what it matched, for evidence.json's `waivers`."""
        return [
            {
                "control": c.waiver.control,
                "resource": c.waiver.resource,
                "scope": c.scope,
                "justification": c.waiver.justification,
                "approved_by": c.waiver.approved_by,
                "expires": c.waiver.expires.isoformat(),
                "expired": c.expired,
                "evaluated": c.evaluated,
                "matched": c.matched,
                "stale": c.stale,
            }
            for c in self._coverage()
        ]

    def _tickets(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """Plan (dry-run) or carry out (on) the night's ticket actions; never changes a verdict."""
        settings = self.config.tickets
        assert settings is not None  # conftest refuses --tickets without a [tickets] section
        resolved = settings.model_copy(
            update={
                key: self.config.resolve(value)
                for key, value in (("state_file", settings.state_file), ("ca_bundle", settings.ca_bundle))
                if value is not None
            }
        )
        host_groups = {host.name: (host.roles[0] if host.roles else "all") for host in self.config.hosts}
        section = run_tickets(
            bundle,
            resolved,
            self.tickets_mode,
            env=os.environ,
            today=self.run_date,
            state_dir=self.evidence_dir.resolve().parent,
            host_groups=host_groups,
            lang=self.report_lang,
        )
        self.ticket_lines = describe_plan(section)
        return section

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """End the run with the verdict counts, the path of the evidence and what went wrong."""
        if self.report_path is None and not (self.notes or self.output_problems):
            return
        terminalreporter.section("statement audit")
        if self.results:
            counts = {status: sum(1 for r in self.results if r.status == status) for status in OUTCOME_WORDS}
            line = ", ".join(f"{counts[s]} {OUTCOME_WORDS[s][0]}" for s in OUTCOME_WORDS)
            terminalreporter.write_line(f"controls: {line}")
        if self.run.recording is not None and self.recording_path is not None:
            terminalreporter.write_line(f"recording: {self.recording_path}")
        for line in self.ticket_lines:
            terminalreporter.write_line(line)
        stale = [c for c in self._coverage() if c.stale] if self.results else []
        for coverage in stale:
            terminalreporter.write_line(
                f"stale waiver: {coverage.waiver.control} {coverage.waiver.resource!r} matches no result",
                yellow=True,
            )
        if self.report_path is not None:
            terminalreporter.write_line(f"evidence: {self.evidence_dir / 'evidence.json'}")
        if self.archive is not None:
            for line in self.archive.lines():
                terminalreporter.write_line(line)
        for note in self.notes:
            terminalreporter.write_line(note)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Make the report's path the run's last line; name what stops the run from being green on stderr."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.report_path is not None and reporter is not None:
            reporter.write_line(f"report: {self.report_path}", bold=True)
        archive_problems = (
            [f"[archive] {p}" for p in self.archive.problems] if self.archive is not None else []
        )
        for problem in [
            *([self.scope_problem] if self.scope_problem else []),
            *archive_problems,
            *self.output_problems,
        ]:
            sys.stderr.write(f"ERROR: {problem}\n")
