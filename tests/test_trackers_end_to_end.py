"""`pytest controls/` on a tracker register: a personal e-mail address in a ticket reaches no output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.standins.ticket_emulators.jira import JiraEmulator
from tests.audit_runs import run_audit

CANARY = "marieke.de.vries.canary@example.nl"


def test_personal_address_in_a_ticket_reaches_no_output(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with JiraEmulator(search_lag=0) as jira:
        request = jira.add_issue(
            summary=f"Inzageverzoek {CANARY}",
            description=f"Graag alle gegevens naar {CANARY}",
            labels=["avg-verzoek"],
            created=now - timedelta(days=30),
            resolved=now - timedelta(days=29),
        )
        incident = jira.add_issue(
            summary=f"Datalek: mailbox {CANARY}",
            description=CANARY,
            issue_type="Incident",
            labels=["klant-informeren"],
            created=now - timedelta(days=3),
        )
        jira.add_history(
            incident,
            now - timedelta(days=2, hours=1),
            [
                {
                    "field": "status",
                    "fieldId": "status",
                    "fromString": "To Do",
                    "toString": "Klant geïnformeerd",
                }
            ],
            author_email=CANARY,
        )
        connection = (
            f'tracker = "jira"\nurl = "{jira.url}"\nca_bundle = "{jira.ca_file}"\nproject = "SEC"\n'
            'token_env = "JIRA_TOKEN"\nuser_env = "JIRA_USER"\n'
        )
        config = (
            f'[data_subject_requests]\n{connection}label = "avg-verzoek"\n\n'
            f'[breach_notifications]\n{connection}issue_type = "Incident"\nnotify_label = "klant-informeren"\n'
            'no_notify_label = "klant-niet-informeren"\nnotified_status = "Klant geïnformeerd"\n'
        )
        recording = tmp_path / "recording.json"
        run = run_audit(
            tmp_path,
            config,
            "--allow-empty-scope",
            "--record",
            str(recording),
            env={"JIRA_USER": "auditor@example.com", "JIRA_TOKEN": "jira-token"},
        )
    assert run.verdicts()[("10.data-subject-requests", request)] == "pass", run.stdout[-3000:]
    assert run.verdicts()[("13.breach-notification-sla", incident)] == "pass"
    outputs = {
        "stdout": run.stdout + run.stderr,
        "recording": recording.read_text(encoding="utf-8"),
        **{
            str(p): p.read_text(encoding="utf-8", errors="replace")
            for p in run.evidence_dir.rglob("*")
            if p.is_file()
        },
    }
    assert "evidence.json" in " ".join(outputs)
    assert "report.html" in " ".join(outputs)
    for name, text in outputs.items():
        assert CANARY not in text, name
        assert "marieke" not in text, name
