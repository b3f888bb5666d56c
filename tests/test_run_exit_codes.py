"""The run as a whole, through the real CLI: every exit code, refusing to start, and losing no evidence.

Each exit code of `pytest controls/` (controls/harness/exit_codes.py) is part of the tested contract: one
test per code, plus the start-up refusals (exit 4, one line naming the option, variable or file,
before anything is collected) and the end-of-run output failures (exit 6, the bundle still
written). No run may print a traceback, except the deliberate internal error of exit 3.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from controls.framework import assertions_off_reason
from controls.harness.exit_codes import EXIT_CODES
from tests.audit_runs import FAILING, PASSING, ROOT, audit, error_lines, no_traceback, run_demo
from tests.disrupt_run_plugin import DISRUPT_ENV

# -- the contract: documented in --help and README -----------------------------------------------


def test_every_exit_code_is_explained_in_help_and_readme() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    help_text = shown.stdout
    assert "exit codes of pytest controls/:" in help_text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for entry in EXIT_CODES:
        assert re.search(rf"^\s+{entry.code}  \S", help_text, re.MULTILINE), entry.code
        assert re.search(rf"^\| `{entry.code}` \|", readme, re.MULTILINE), (
            f"README lacks exit code {entry.code}"
        )
    assert "--allow-empty-scope" in help_text
    assert "`--allow-empty-scope`" in readme


# -- 0, 1: the audit ran and its bundle is written ------------------------------------------------


def test_exit_0_when_nothing_fails(tmp_path: Path) -> None:
    run = audit(tmp_path, PASSING)
    assert run.returncode == 0, run.stdout + run.stderr
    no_traceback(run)
    assert (tmp_path / "evidence" / "evidence.json").is_file()


def test_exit_1_when_a_control_fails(tmp_path: Path) -> None:
    run = audit(tmp_path, FAILING)
    assert run.returncode == 1, run.stdout + run.stderr
    no_traceback(run)
    assert (tmp_path / "evidence" / "evidence.json").is_file()


# -- 2, 3: the run did not complete: no bundle ----------------------------------------------------


def test_exit_2_interrupted_run_writes_no_bundle(tmp_path: Path) -> None:
    run = audit(tmp_path, PASSING, "-p", "tests.disrupt_run_plugin", env={DISRUPT_ENV: "interrupt"})
    assert run.returncode == 2, run.stdout + run.stderr
    assert not (tmp_path / "evidence" / "evidence.json").exists()


def test_exit_3_internal_error_writes_no_bundle(tmp_path: Path) -> None:
    run = audit(tmp_path, PASSING, "-p", "tests.disrupt_run_plugin", env={DISRUPT_ENV: "crash"})
    assert run.returncode == 3, run.stdout + run.stderr
    assert "deliberate internal error" in run.stdout + run.stderr
    assert not (tmp_path / "evidence" / "evidence.json").exists()


def test_exit_6_a_report_rendering_bug_keeps_the_evidence_and_its_seal(tmp_path: Path) -> None:
    run = audit(tmp_path, FAILING, "-p", "tests.disrupt_run_plugin", env={DISRUPT_ENV: "report-bug"})
    assert run.returncode == 6, run.stdout + run.stderr
    no_traceback(run)
    assert "report.html: the report could not be rendered (KeyError:" in run.stdout + run.stderr
    evidence = tmp_path / "evidence"
    assert (evidence / "evidence.json").is_file()
    assert not (evidence / "report.html").exists()
    manifest = (evidence / "MANIFEST.sha256").read_text(encoding="utf-8")
    assert "evidence.json" in manifest
    assert "report.html" not in manifest


# -- 5: nothing selected ---------------------------------------------------------------------------


def test_exit_5_k_selecting_no_control_writes_no_bundle(tmp_path: Path) -> None:
    run = audit(tmp_path, PASSING, "-k", "no-such-control-anywhere")
    assert run.returncode == 5, run.stdout + run.stderr
    no_traceback(run)
    assert "no control was selected" in run.stdout
    assert not (tmp_path / "evidence").exists(), list((tmp_path / "evidence").iterdir())


# -- 4: refused before anything is collected -------------------------------------------------------


def test_evidence_dir_that_is_a_file_is_refused_before_collecting(tmp_path: Path) -> None:
    occupied = tmp_path / "evidence-file"
    occupied.write_text("an existing file\n", encoding="utf-8")
    run = audit(tmp_path, PASSING, evidence_dir=occupied)
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "--evidence-dir" in line
    assert str(occupied) in line
    assert "not a folder" in line
    assert occupied.read_text(encoding="utf-8") == "an existing file\n"


def test_evidence_dir_on_a_file_system_that_takes_no_files_is_refused(tmp_path: Path) -> None:
    run = audit(tmp_path, PASSING, evidence_dir=Path("/proc/audit-evidence"))
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "--evidence-dir /proc/audit-evidence" in line
    assert "cannot write" in line


def test_read_only_evidence_dir_is_refused_before_collecting(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        run = audit(tmp_path, PASSING, evidence_dir=locked / "night", honour_permissions=True)
    finally:
        locked.chmod(0o700)
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert f"--evidence-dir {locked / 'night'}" in line
    assert "Permission denied" in line
    assert not (locked / "night").exists()


def test_record_to_an_unwritable_path_is_refused_before_collecting(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        run = audit(tmp_path, PASSING, "--record", str(locked / "rec.json"), honour_permissions=True)
    finally:
        locked.chmod(0o700)
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert f"--record {locked / 'rec.json'}" in line
    assert "Permission denied" in line
    assert not (tmp_path / "evidence").exists()


def test_record_under_a_file_is_refused_before_collecting(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x", encoding="utf-8")
    target = tmp_path / "plain-file" / "rec.json"
    run = audit(tmp_path, PASSING, "--record", str(target))
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert f"--record {target}" in line
    assert "not a folder" in line


def test_invalid_signing_key_is_refused_at_start_naming_the_variable_only(tmp_path: Path) -> None:
    key_text = "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LWNhbmFyeS03NzE=\n-----END PRIVATE KEY-----\n"
    run = run_demo(tmp_path / "ev", env={"AUDIT_SIGNING_KEY": key_text})
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "AUDIT_SIGNING_KEY" in line
    assert "bm90LWEta2V5LWNhbmFyeS03NzE" not in run.stdout + run.stderr
    assert not (tmp_path / "ev").exists()


def test_signing_key_of_another_algorithm_is_refused_at_start(tmp_path: Path) -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    run = run_demo(tmp_path / "ev", env={"AUDIT_SIGNING_KEY": pem})
    assert run.returncode == 4, run.stdout + run.stderr
    [line] = error_lines(run)
    assert "AUDIT_SIGNING_KEY" in line
    assert "Ed25519" in line
    assert pem.splitlines()[1] not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "corruption",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param('{"results": "garbage"}', id="results-not-a-list"),
        pytest.param('{"results": [{"control": "x"}]}', id="result-without-resource"),
        pytest.param("", id="empty-file"),
    ],
)
def test_corrupt_explicit_baseline_is_refused_before_collecting(tmp_path: Path, corruption: str) -> None:
    baseline = tmp_path / "last-night"
    baseline.mkdir()
    (baseline / "evidence.json").write_text(corruption, encoding="utf-8")
    run = run_demo(tmp_path / "ev", "--baseline", str(baseline))
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "--baseline" in line
    assert str(baseline / "evidence.json") in line
    assert not (tmp_path / "ev").exists()


def test_config_naming_no_source_is_nothing_in_scope(tmp_path: Path) -> None:
    run = audit(tmp_path, '[policy]\nmin_tls = "1.2"\n')
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "nothing in scope" in line
    assert str(tmp_path / "audit.toml") in line
    assert "--allow-empty-scope" in line
    assert not (tmp_path / "evidence").exists()


def test_allow_empty_scope_accepts_a_config_naming_no_source(tmp_path: Path) -> None:
    run = audit(tmp_path, '[policy]\nmin_tls = "1.2"\n', "--allow-empty-scope")
    assert run.returncode == 0, run.stdout + run.stderr
    statuses = {
        r["status"] for r in json.loads((tmp_path / "evidence" / "evidence.json").read_text())["results"]
    }
    assert statuses == {"not_applicable"}


def test_every_item_not_applicable_writes_the_bundle_then_exits_4(tmp_path: Path) -> None:
    run = audit(tmp_path, PASSING, "-k", "12a")
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "nothing in scope" in line
    assert str(tmp_path / "audit.toml") in line
    bundle = json.loads((tmp_path / "evidence" / "evidence.json").read_text(encoding="utf-8"))
    assert bundle["results"]
    assert {r["status"] for r in bundle["results"]} == {"not_applicable"}
    assert all(r["message"] for r in bundle["results"]), "each says why it is not applicable"
    allowed = audit(tmp_path / "again", PASSING, "-k", "12a", "--allow-empty-scope")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


@pytest.mark.parametrize(
    ("python_flags", "env"),
    [
        pytest.param((), {"PYTHONOPTIMIZE": "1"}, id="PYTHONOPTIMIZE=1"),
        pytest.param(("-O",), {}, id="python -O"),
    ],
)
@pytest.mark.parametrize("assert_mode", ["plain", "rewrite"])
def test_audit_is_refused_when_assertions_are_off(
    tmp_path: Path, python_flags: tuple[str, ...], env: dict[str, str], assert_mode: str
) -> None:
    run = audit(tmp_path, FAILING, f"--assert={assert_mode}", env=env, python_flags=python_flags)
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "assertions are switched off" in line
    assert not (tmp_path / "evidence").exists()


def test_a_control_module_whose_assert_does_not_raise_is_detected_by_the_probe() -> None:
    namespace: dict[str, object] = {}
    source = "def probe_assert_false():\n    assert False\n"
    exec(compile(source, "<control module compiled with -O>", "exec", optimize=1), namespace)
    reason = assertions_off_reason(namespace["probe_assert_false"])  # type: ignore[arg-type]
    assert reason is not None
    assert "did not raise" in reason


def test_the_shipped_probe_raises_when_assertions_run() -> None:
    assert assertions_off_reason() is None


# -- 6: output lost at the end, evidence kept -------------------------------------------------------


def test_recording_folder_made_unwritable_mid_run_keeps_the_evidence_bundle(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    try:
        run = audit(
            tmp_path,
            FAILING,
            "--record",
            str(folder / "night.json"),
            "-p",
            "tests.disrupt_run_plugin",
            env={DISRUPT_ENV: f"readonly:{folder}"},
            honour_permissions=True,
        )
    finally:
        folder.chmod(0o700)
    assert run.returncode == 6, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert f"--record {folder / 'night.json'}" in line
    assert "Permission denied" in line
    assert not (folder / "night.json").exists()
    evidence = tmp_path / "evidence"
    bundle = json.loads((evidence / "evidence.json").read_text(encoding="utf-8"))
    assert {r["status"] for r in bundle["results"]} >= {"fail"}
    assert bundle["run"]["recording"] is None, "the lost recording is not cited as evidence"
    verified = subprocess.run(
        [sys.executable, "-m", "reports", "verify", str(evidence)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_recording_is_cited_in_the_evidence_when_written(tmp_path: Path) -> None:
    run = audit(tmp_path, FAILING, "--record", str(tmp_path / "night.json"))
    assert run.returncode == 1, run.stdout + run.stderr
    bundle = json.loads((tmp_path / "evidence" / "evidence.json").read_text(encoding="utf-8"))
    import hashlib

    assert bundle["run"]["recording"] == {
        "path": str(tmp_path / "night.json"),
        "sha256": hashlib.sha256((tmp_path / "night.json").read_bytes()).hexdigest(),
    }


def test_evidence_folder_removed_mid_run_is_exit_6_naming_it(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    run = audit(tmp_path, FAILING, "-p", "tests.disrupt_run_plugin", env={DISRUPT_ENV: f"file:{evidence}"})
    assert run.returncode == 6, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert f"--evidence-dir {evidence}" in line
    assert "could not be written" in line
