"""The scheduling templates of .ci/scheduling/ (issue 16): valid, runnable, and free of secrets.

- The GitHub workflow and the Azure DevOps pipeline are checked against the schemas vendored in
  check-jsonschema (GitHub's workflow schema from SchemaStore, Microsoft's Azure Pipelines schema),
  and a misspelled copy of each is shown to be rejected, so the check can fail.
- The systemd units are checked with `systemd-analyze verify` (a copy whose ExecStart points at
  this venv's real pytest and celery: nothing may be printed; as shipped, the only complaint allowed
  is the not-yet-installed /opt/statement-auditor binary) and `systemd-analyze security --offline`.
- Each template's own shell (the pipeline step, the workflow steps, the unit's ExecStart) is run
  with a stand-in pytest exiting with each documented exit code: the nightly command is the one
  the README documents, the JUnit file and the bundle land where the publishing steps look, and
  findings (exit 1) are told apart from a broken run (2-7).
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
SCHEDULING = ROOT / ".ci" / "scheduling"
ADO = SCHEDULING / "azure-pipelines.yml"
GHA = SCHEDULING / "github-actions-nightly.yml"
NIGHTLY_SERVICE = SCHEDULING / "auditor-nightly.service"
NIGHTLY_TIMER = SCHEDULING / "auditor-nightly.timer"
WORKER = SCHEDULING / "auditor-site-worker@.service"
UNITS = (NIGHTLY_SERVICE, NIGHTLY_TIMER, WORKER)
TEMPLATES = (ADO, GHA, *UNITS)

GHA_SCHEMA = ("--builtin-schema", "vendor.github-workflows")
# Microsoft's schema has patterns that are not valid unicode regexes, and the transform reads
# `${{ }}` template expressions: the arguments check-jsonschema's own pre-commit hook uses.
ADO_SCHEMA = (
    "--builtin-schema",
    "vendor.azure-pipelines",
    "--data-transform",
    "azure-pipelines",
    "--regex-variant",
    "nonunicode",
)
INSTALL = "/opt/statement-auditor"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")

EXIT_CODES = (0, 1, 2, 3, 4, 5, 6, 7)
BUNDLE_WRITTEN = {0, 1, 6, 7}  # README "Exit codes": 2, 3, 5 and a refused 4 write no bundle


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
        check=False,
    )


def systemd_analyze(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    if SYSTEMD_ANALYZE is None:  # fail, never skip: bash tests/run.sh installs systemd
        pytest.fail(
            "systemd-analyze is not installed: run bash tests/run.sh (it installs systemd)", pytrace=False
        )
    return subprocess.run(
        [SYSTEMD_ANALYZE, *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        timeout=120,
        check=False,
    )


def unit_entries(path: Path) -> dict[str, dict[str, list[str]]]:
    """Return {section: {key: [values, in order]}} of a unit file (keys may repeat)."""
    return unit_entries_from_text(path.read_text(encoding="utf-8"), path.name)


def unit_entries_from_text(text: str, name: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{name}: {line!r} before any section"
        key, separator, value = line.partition("=")
        assert separator, f"{name}: {line!r} is no key=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(values: list[str]) -> str:
    assert len(values) == 1, values
    return values[0]


def ado_steps() -> list[dict[str, Any]]:
    pipeline = load_yaml(ADO)
    (job,) = pipeline["jobs"]
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def ado_task(name: str) -> dict[str, Any]:
    (step,) = [step for step in ado_steps() if step.get("task") == name]
    return step


def gha_steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = load_yaml(GHA)["jobs"]["audit"]["steps"]
    return steps


def gha_step(*, uses: str = "", step_id: str = "", name: str = "") -> dict[str, Any]:
    (step,) = [
        step
        for step in gha_steps()
        if (uses and str(step.get("uses", "")).split("@")[0] == uses)
        or (step_id and step.get("id") == step_id)
        or (name and step.get("name") == name)
    ]
    return step


# ---------------------------------------------------------------------------------------------
# Schemas


def test_github_workflow_matches_the_vendored_github_workflows_schema() -> None:
    for schema in (GHA_SCHEMA, ("--builtin-schema", "custom.github-workflows-require-timeout")):
        result = check_jsonschema(*schema, GHA)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ok -- validation done" in result.stdout


def test_azure_pipeline_matches_the_vendored_azure_pipelines_schema() -> None:
    result = check_jsonschema(*ADO_SCHEMA, ADO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


@pytest.mark.parametrize(
    ("template", "schema", "correct", "broken", "complaint"),
    [
        (GHA, GHA_SCHEMA, "    timeout-minutes:", "    timeout-minute:", "'timeout-minute' was unexpected"),
        (GHA, GHA_SCHEMA, "  workflow_dispatch:", "  workflow_dispatchh:", "workflow_dispatchh"),
        (ADO, ADO_SCHEMA, "    steps:", "    stepz:", "'stepz' was unexpected"),
        (ADO, ADO_SCHEMA, "testResultsFormat:", "testResultFormat:", "testResultFormat"),
        (ADO, ADO_SCHEMA, 'always: "true"', "always: true", "always: True is not of type 'string'"),
    ],
    ids=["gha-job-key", "gha-trigger", "ado-job-key", "ado-task-input", "ado-unquoted-bool"],
)
def test_schema_validation_rejects_a_misspelled_copy(
    tmp_path: Path, template: Path, schema: tuple[str, ...], correct: str, broken: str, complaint: str
) -> None:
    text = template.read_text(encoding="utf-8")
    assert text.count(correct) == 1, f"{template.name} no longer has exactly one {correct!r}"
    copy = tmp_path / template.name
    copy.write_text(text.replace(correct, broken), encoding="utf-8")
    result = check_jsonschema(*schema, "--verbose", copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors were encountered" in result.stdout
    assert complaint in result.stdout
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# systemd units


def installed_here(directory: Path) -> list[Path]:
    """Copy the units into `directory`, the install path replaced by this checkout and its venv."""
    venv_bin = Path(sys.prefix) / "bin"
    for program in ("pytest", "celery"):
        assert os.access(venv_bin / program, os.X_OK), f"{venv_bin / program} is missing: pip install -e ."
    copies = []
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        text = text.replace(f"{INSTALL}/.venv/bin/", f"{venv_bin}/").replace(INSTALL, str(ROOT))
        copy = directory / unit.name
        copy.write_text(text, encoding="utf-8")
        copies.append(copy)
    return copies


def test_units_verify_without_a_word_when_their_programs_exist(tmp_path: Path) -> None:
    copies = installed_here(tmp_path)
    result = systemd_analyze("verify", "--man=no", *(copy.name for copy in copies), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""


def test_units_as_shipped_only_lack_the_install_path(tmp_path: Path) -> None:
    for unit in UNITS:
        shutil.copy(unit, tmp_path / unit.name)
    result = systemd_analyze("verify", "--man=no", *(unit.name for unit in UNITS), cwd=tmp_path)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    for line in complaints:
        assert re.search(rf"Command {re.escape(INSTALL)}/\.venv/bin/\w+ is not executable", line), line


@pytest.mark.parametrize(
    ("unit", "correct", "broken", "complaint"),
    [
        (NIGHTLY_SERVICE, "ProtectSystem=strict", "ProtectSystm=strict", "Unknown key"),
        (NIGHTLY_SERVICE, "Type=oneshot", "Type=oneshott", "Failed to parse service type"),
        (NIGHTLY_TIMER, "OnCalendar=*-*-* 01:30:00", "OnCalendar=every night", "calendar specification"),
        (WORKER, "Restart=on-failure", "Restart=on-failur", "Failed to parse"),
    ],
    ids=["misspelled-key", "bad-type", "bad-calendar", "bad-restart"],
)
def test_unit_verification_rejects_a_broken_copy(
    tmp_path: Path, unit: Path, correct: str, broken: str, complaint: str
) -> None:
    copies = {copy.name: copy for copy in installed_here(tmp_path)}
    copy = copies[unit.name]
    text = copy.read_text(encoding="utf-8")
    assert text.count(correct) == 1
    copy.write_text(text.replace(correct, broken), encoding="utf-8")
    result = systemd_analyze("verify", "--man=no", copy.name, cwd=tmp_path)
    assert complaint in result.stdout + result.stderr


@pytest.mark.parametrize("unit", [NIGHTLY_SERVICE, WORKER], ids=lambda unit: unit.name)
def test_services_are_hardened(tmp_path: Path, unit: Path) -> None:
    """systemd's own exposure score stays at most 2.0 ("OK"); the same unit without hardening fails."""
    copy = tmp_path / unit.name
    shutil.copy(unit, copy)
    args = ("security", "--offline=yes", "--man=no", "--threshold=20", copy.name)
    result = systemd_analyze(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Overall exposure level for .*: [01]\.\d OK", result.stdout), result.stdout
    service = unit_entries(unit)["Service"]
    bare = "[Service]\n" + "".join(
        f"{key}={value}\n" for key in ("Type", "User", "ExecStart") for value in service.get(key, [])
    )
    copy.write_text(bare, encoding="utf-8")
    assert systemd_analyze(*args, cwd=tmp_path).returncode != 0


def test_units_run_unprivileged_read_only_with_credentials_from_a_file() -> None:
    hardening = {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }
    for unit in (NIGHTLY_SERVICE, WORKER):
        service = unit_entries(unit)["Service"]
        assert one(service["User"]) not in {"root", "0"}
        for key, value in hardening.items():
            assert one(service[key]) == value, (unit.name, key)
        assert one(service["EnvironmentFile"]).startswith("/etc/statement-auditor/")
    nightly = unit_entries(NIGHTLY_SERVICE)["Service"]
    assert one(nightly["Type"]) == "oneshot"
    assert one(nightly["ReadWritePaths"]) == "/var/lib/audit"
    assert one(nightly["StateDirectory"]) == "audit"
    assert "ReadWritePaths" not in unit_entries(WORKER)["Service"]
    timer = unit_entries(NIGHTLY_TIMER)["Timer"]
    assert one(timer["Persistent"]) == "true"
    assert re.fullmatch(r"\*-\*-\* 0[0-5]:\d\d:00", one(timer["OnCalendar"])), "not a night hour"
    assert one(timer["RandomizedDelaySec"])
    assert one(timer["Unit"]) == NIGHTLY_SERVICE.name


def test_site_worker_runs_the_sites_queue_and_restarts_on_failure() -> None:
    service = unit_entries(WORKER)["Service"]
    assert one(service["ExecStart"]) == (
        f"{INSTALL}/.venv/bin/celery -A collectors.distributed.app worker -Q %i --concurrency 2 --hostname %i@%H"
    )
    assert one(service["Restart"]) == "on-failure"
    assert one(service["EnvironmentFile"]) == "/etc/statement-auditor/worker-%i.env"
    text = WORKER.read_text(encoding="utf-8")
    assert "AUDITOR_BROKER_URL" in text
    assert "AUDITOR_BROKER_PASSWORD" in text


# ---------------------------------------------------------------------------------------------
# The nightly command, run by each template's own shell with a stand-in pytest

STAND_IN_PYTEST = """#!/bin/sh
# A stand-in for the auditor: records its arguments and signing key, writes a bundle, exits.
printf '%s\\n' "$@" > "$STAND_IN_ARGS"
printf '%s' "${AUDIT_SIGNING_KEY-}" > "$STAND_IN_KEY"
while [ $# -gt 0 ]; do
  if [ "$1" = --evidence-dir ] && [ "$STAND_IN_BUNDLE" = yes ]; then
    mkdir -p "$2" && echo '{}' > "$2/evidence.json" && echo '<testsuites/>' > "$2/junit.xml"
  fi
  shift
done
exit "$STAND_IN_EXIT"
"""
SIGNING_KEY = "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n"
STAMP = r"\d{8}T\d{6}Z"


def readme_nightly_command() -> list[str]:
    """Return the first `pytest controls/ ...` command of the README's "Nightly use" section, split."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Nightly use\n", 1)[1].split("\n## ", 1)[0]
    line = next(line for line in section.splitlines() if line.startswith("pytest controls/ "))
    return shlex.split(line.replace("$(date -u +%Y%m%dT%H%M%SZ)", "STAMP"))


def invoked_command(argv_file: Path) -> list[str]:
    return argv_file.read_text(encoding="utf-8").splitlines()


def assert_is_the_readme_command(arguments: list[str]) -> dict[str, str]:
    """Assert `arguments` (after `pytest`) are the README's nightly command plus `--tickets on`."""
    readme = readme_nightly_command()
    assert readme[:2] == ["pytest", "controls/"]
    readme_options = [word for word in readme[2:] if word.startswith("--")]
    assert readme_options == ["--audit-config", "--evidence-dir"]
    assert arguments[0] == "controls/"
    options = dict(zip(arguments[1::2], arguments[2::2], strict=True))
    assert list(options)[: len(readme_options)] == readme_options
    assert options["--tickets"] == "on"
    assert all(value and not value.startswith("--") for value in options.values())
    return options


class StandIn:
    """A folder with the stand-in pytest at `.venv/bin/pytest`, and what it recorded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pytest = root / ".venv" / "bin" / "pytest"
        self.pytest.parent.mkdir(parents=True)
        self.pytest.write_text(STAND_IN_PYTEST, encoding="utf-8")
        self.pytest.chmod(self.pytest.stat().st_mode | stat.S_IXUSR)
        self.args = root / "args.txt"
        self.key = root / "key.txt"

    def env(self, code: int, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "STAND_IN_ARGS": str(self.args),
            "STAND_IN_KEY": str(self.key),
            "STAND_IN_EXIT": str(code),
            "STAND_IN_BUNDLE": "yes" if code in BUNDLE_WRITTEN else "no",
            **extra,
        }


@pytest.fixture
def stand_in(tmp_path: Path) -> StandIn:
    return StandIn(tmp_path)


def bash(
    script: str, *, cwd: Path, env: dict[str, str], flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", *flags, "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("code", EXIT_CODES)
def test_azure_pipeline_runs_the_nightly_command_and_tells_findings_from_a_broken_run(
    stand_in: StandIn, code: int
) -> None:
    audit = ado_task("AzureCLI@2")
    staging = stand_in.root / "staging"
    key_file = stand_in.root / "signing-key.pem"
    key_file.write_text(SIGNING_KEY, encoding="utf-8")
    env = stand_in.env(
        code,
        BUILD_ARTIFACTSTAGINGDIRECTORY=str(staging),
        SIGNING_KEY_FILE=str(key_file),
        AUDIT_CONFIG="audit.toml",
    )
    result = bash(audit["inputs"]["inlineScript"], cwd=stand_in.root, env=env)

    options = assert_is_the_readme_command(invoked_command(stand_in.args))
    assert options["--audit-config"] == "audit.toml"
    assert re.fullmatch(rf"{re.escape(str(staging))}/evidence/{STAMP}", options["--evidence-dir"])
    assert stand_in.key.read_text(encoding="utf-8") == SIGNING_KEY.rstrip("\n")
    assert f"##vso[task.setvariable variable=auditExitCode]{code}" in result.stdout
    written = "##vso[task.setvariable variable=bundleWritten]true" in result.stdout
    assert written == (code in BUNDLE_WRITTEN)
    if code == 0:
        assert result.returncode == 0
        assert "task.complete" not in result.stdout
    elif code == 1:  # findings: orange, never red, and everything published
        assert result.returncode == 0
        assert "##vso[task.complete result=SucceededWithIssues;]" in result.stdout
    else:  # the run needs a person: the step fails with the auditor's code
        assert result.returncode == code
        assert f"##vso[task.logissue type=error]The audit run needs a person (exit {code})" in result.stdout

    # The publishing steps find exactly what the run wrote.
    tests = ado_task("PublishTestResults@2")
    assert tests["condition"] == "always()"
    assert tests["inputs"]["testResultsFormat"] == "JUnit"
    assert tests["inputs"]["failTaskOnFailedTests"] is False
    search = tests["inputs"]["searchFolder"].replace("$(Build.ArtifactStagingDirectory)", str(staging))
    found = glob.glob(os.path.join(search, tests["inputs"]["testResultsFiles"]))
    assert found == ([os.path.join(options["--evidence-dir"], "junit.xml")] if written else [])
    artifact = ado_task("PublishPipelineArtifact@1")
    assert artifact["condition"] == "and(always(), eq(variables['bundleWritten'], 'true'))"
    target = artifact["inputs"]["targetPath"].replace("$(Build.ArtifactStagingDirectory)", str(staging))
    assert Path(options["--evidence-dir"]).parent == Path(target)


def test_azure_pipeline_is_nightly_with_workload_identity_and_mapped_ticket_secrets() -> None:
    pipeline = load_yaml(ADO)
    (schedule,) = pipeline["schedules"]
    assert schedule["always"] == "true"
    assert re.fullmatch(r"\d+ [0-5] \* \* \*", schedule["cron"])
    assert pipeline["trigger"] == "none"
    assert pipeline["pr"] == "none"
    audit = ado_task("AzureCLI@2")
    assert audit["inputs"]["azureSubscription"]
    assert audit["inputs"]["scriptType"] == "bash"
    assert "addSpnToEnvironment" not in audit["inputs"]  # the auditor uses the CLI login, no key
    assert audit["env"]["AUDIT_JIRA_EMAIL"] == "$(auditJiraEmail)"
    assert audit["env"]["AUDIT_JIRA_TOKEN"] == "$(auditJiraToken)"
    names = [step.get("task") or next(iter(step)) for step in ado_steps()]
    assert (
        names.index("AzureCLI@2")
        < names.index("PublishTestResults@2")
        < names.index("PublishPipelineArtifact@1")
    )


@pytest.mark.parametrize("code", EXIT_CODES)
def test_github_workflow_runs_the_nightly_command_and_tells_findings_from_a_broken_run(
    stand_in: StandIn, code: int
) -> None:
    workflow = load_yaml(GHA)
    audit = gha_step(step_id="audit")
    runner_temp = stand_in.root / "runner-temp"
    outputs = stand_in.root / "github-output"
    outputs.touch()
    env = stand_in.env(
        code,
        RUNNER_TEMP=str(runner_temp),
        GITHUB_OUTPUT=str(outputs),
        AUDIT_SIGNING_KEY=SIGNING_KEY,
        **{name: str(value) for name, value in workflow["jobs"]["audit"]["env"].items()},
    )
    # GitHub runs `run:` steps with `bash --noprofile --norc -eo pipefail {0}`.
    result = bash(audit["run"], cwd=stand_in.root, env=env, flags=("-eo", "pipefail"))
    assert result.returncode == 0, result.stderr  # the verdict is the last step's, after publishing

    options = assert_is_the_readme_command(invoked_command(stand_in.args))
    assert options["--audit-config"] == "audit.toml"
    assert re.fullmatch(rf"{re.escape(str(runner_temp))}/evidence/{STAMP}", options["--evidence-dir"])
    assert stand_in.key.read_text(encoding="utf-8") == SIGNING_KEY
    step_outputs = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    assert step_outputs["exit-code"] == str(code)
    assert step_outputs["bundle"] == options["--evidence-dir"]
    written = step_outputs.get("bundle-written") == "true"
    assert written == (code in BUNDLE_WRITTEN)

    # Publishing runs whatever the exit code, whenever there is a bundle, and finds it.
    junit = gha_step(uses="mikepenz/action-junit-report")
    upload = gha_step(uses="actions/upload-artifact")
    for step in (junit, upload):
        assert step["if"] == "always() && steps.audit.outputs.bundle-written == 'true'"
    assert junit["with"]["fail_on_failure"] is False
    report = junit["with"]["report_paths"].replace(
        "${{ steps.audit.outputs.bundle }}", step_outputs["bundle"]
    )
    assert Path(report).is_file() == written
    uploaded = Path(upload["with"]["path"].replace("${{ runner.temp }}", str(runner_temp)))
    assert Path(options["--evidence-dir"]).parent == uploaded

    judge = gha_step(name="Judge the exit code")
    assert judge["if"] == "always()"
    assert judge["env"]["CODE"] == "${{ steps.audit.outputs.exit-code }}"
    verdict = bash(
        judge["run"], cwd=stand_in.root, env=stand_in.env(code, CODE=str(code)), flags=("-eo", "pipefail")
    )
    if code == 0:
        assert verdict.returncode == 0
        assert "::" not in verdict.stdout
    elif code == 1:
        assert verdict.returncode == 0
        assert verdict.stdout.startswith("::warning title=Controls failed (exit 1)::")
    else:
        assert verdict.returncode == code
        assert verdict.stdout.startswith(f"::error title=Audit run broken (exit {code})::")
    assert gha_steps()[-1]["name"] == judge["name"]  # the verdict comes after everything is published


def test_github_workflow_judges_an_audit_that_never_ran_as_broken(stand_in: StandIn) -> None:
    judge = gha_step(name="Judge the exit code")
    verdict = bash(judge["run"], cwd=stand_in.root, env=stand_in.env(0, CODE=""), flags=("-eo", "pipefail"))
    assert verdict.returncode == 1
    assert "::error title=Audit did not run::" in verdict.stdout


def test_github_workflow_is_nightly_with_oidc_and_mapped_ticket_secrets() -> None:
    workflow = load_yaml(GHA)
    assert re.fullmatch(r"\d+ [0-5] \* \* \*", workflow["on"]["schedule"][0]["cron"])
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["permissions"]["contents"] == "read"
    login = gha_step(uses="azure/login")
    assert login["with"] == {
        "client-id": "${{ vars.AZURE_CLIENT_ID }}",
        "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
        "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
    }
    audit = gha_step(step_id="audit")
    assert audit["env"]["AUDIT_JIRA_EMAIL"] == "${{ secrets.AUDIT_JIRA_EMAIL }}"
    assert audit["env"]["AUDIT_JIRA_TOKEN"] == "${{ secrets.AUDIT_JIRA_TOKEN }}"
    steps = gha_steps()
    assert (
        steps.index(login) < steps.index(audit) < steps.index(gha_step(uses="mikepenz/action-junit-report"))
    )


@pytest.mark.parametrize("code", [0, 1, 4])
def test_systemd_unit_runs_the_nightly_command_into_its_only_writable_folder(
    stand_in: StandIn, code: int
) -> None:
    service = unit_entries(NIGHTLY_SERVICE)["Service"]
    exec_start = one(service["ExecStart"])
    writable = one(service["ReadWritePaths"])
    # systemd's own unescaping: specifiers (%% is a literal %), then $$ (a literal $).
    assert not re.search(r"%[^%]", exec_start.replace("%%", "")), "a systemd specifier in ExecStart"
    assert not re.search(r"\$[^$]", exec_start.replace("$$", "")), "a systemd variable in ExecStart"
    command = exec_start.replace("%%", "%").replace("$$", "$")
    output = stand_in.root / "var-lib-audit"
    command = command.replace(f"{INSTALL}/.venv/bin/pytest", str(stand_in.pytest)).replace(
        writable, str(output)
    )
    credentials = stand_in.root / "credentials"
    credentials.mkdir()
    (credentials / "signing-key").write_text(SIGNING_KEY, encoding="utf-8")
    assert one(service["LoadCredential"]) == "signing-key:/etc/statement-auditor/signing-key.pem"
    argv = shlex.split(command)
    result = subprocess.run(
        argv,
        cwd=stand_in.root,
        env=stand_in.env(code, CREDENTIALS_DIRECTORY=str(credentials)),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == code, result.stderr
    assert (code in {0, *map(int, service["SuccessExitStatus"])}) == (code in {0, 1})

    options = assert_is_the_readme_command(invoked_command(stand_in.args))
    assert options["--audit-config"] == "/etc/statement-auditor/audit.toml"
    assert re.fullmatch(rf"{re.escape(str(output))}/evidence/{STAMP}", options["--evidence-dir"])
    assert stand_in.key.read_text(encoding="utf-8") == SIGNING_KEY.rstrip("\n")
    if code in BUNDLE_WRITTEN:
        assert (Path(options["--evidence-dir"]) / "junit.xml").is_file()


# ---------------------------------------------------------------------------------------------
# No secret in any template

SECRET_NAME = re.compile(r"(?i)(token|password|passwd|secret|signing_key|private_key|email|credential)")
ADO_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_.]*\)")
GHA_REFERENCE = re.compile(r"\$\{\{ (secrets|vars)\.[A-Za-z_][A-Za-z0-9_]* \}\}")
FORBIDDEN = (
    "client-secret",
    "client_secret",
    "AZURE_CLIENT_SECRET",
    "creds:",
    "BEGIN PRIVATE KEY",
    "BEGIN OPENSSH",
)
# NAME=value / NAME: value where NAME looks like a secret and value is not a reference or "...".
ASSIGNED_SECRET = re.compile(
    r"(?i)(?<![\w-])[A-Z0-9_]*(?:TOKEN|PASSWORD|SECRET)[A-Z0-9_]*\s*[=:]\s*(?![\"']?(?:\$|\.\.\.))[\"']?[^\s\"',;]{3,}"
)


def env_mappings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, dict):
                yield value
            yield from env_mappings(value)
    elif isinstance(node, list):
        for item in node:
            yield from env_mappings(item)


def secret_findings(path: Path, text: str) -> list[str]:
    findings = [f"{path.name}: {word!r}" for word in FORBIDDEN if word.lower() in text.lower()]
    findings += [f"{path.name}: {match.group(0)!r}" for match in ASSIGNED_SECRET.finditer(text)]
    if path.suffix == ".yml":
        reference = ADO_REFERENCE if path.name == ADO.name else GHA_REFERENCE
        for env in env_mappings(YAML(typ="safe").load(text)):
            for name, value in env.items():
                if SECRET_NAME.search(name) and not reference.fullmatch(str(value)):
                    findings.append(f"{path.name}: env {name} is not a secret reference")
    else:
        for section in unit_entries_from_text(text, path.name).values():
            for assignment in section.get("Environment", []):
                for word in shlex.split(assignment):
                    if SECRET_NAME.search(word.partition("=")[0]):
                        findings.append(f"{path.name}: Environment={word.partition('=')[0]}")
    return findings


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_template_holds_no_secret(template: Path) -> None:
    assert secret_findings(template, template.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("template", "correct", "leaked"),
    [
        (GHA, "${{ secrets.AUDIT_JIRA_TOKEN }}", "0123456789abcdef"),
        (GHA, "tenant-id: ${{ vars.AZURE_TENANT_ID }}", "client-secret: s3cr3t"),
        (ADO, "$(auditJiraToken)", "ATATT3xFfGF0-token"),
        (NIGHTLY_SERVICE, "Environment=HOME=/var/lib/audit", "Environment=AUDIT_JIRA_TOKEN=abc123 HOME=/x"),
        (WORKER, "Environment=HOME=", "Environment=AUDITOR_BROKER_PASSWORD=hunter22 HOME="),
    ],
    ids=["gha-env", "gha-client-secret", "ado-env", "unit-environment", "worker-environment"],
)
def test_secret_scan_catches_a_planted_secret(template: Path, correct: str, leaked: str) -> None:
    text = template.read_text(encoding="utf-8")
    assert text.count(correct) == 1
    assert secret_findings(template, text.replace(correct, leaked)) != []


def test_scheduling_readme_explains_every_template() -> None:
    readme = (SCHEDULING / "README.md").read_text(encoding="utf-8")
    for template in TEMPLATES:
        assert f"`{template.name}`" in readme
    root_readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = root_readme.split("\n## Scheduling\n", 1)[1].split("\n## ", 1)[0]
    assert ".ci/scheduling/" in section
    for template in TEMPLATES:
        assert template.name in section
