"""E-mail backend through a real SMTP server (aiosmtpd) that requires STARTTLS: delivery, threading, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme

from demo.standins.smtp_server import SmtpServer
from reports.tickets.email import EmailBackend
from reports.tickets.model import TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.run import run_tickets
from reports.tickets.settings import TicketSettings
from tests.ticket_nights import HOSTILE_NAME, erroring, hostile, mass_failure, scenario_nights

USER = "auditor@example.test"
PASSWORD = "smtp-password-canary-77ab"
FP = "ctlfp-00000000000000ee"

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(user=USER, password=PASSWORD) as server:
        yield server


def _settings(smtp: SmtpServer, **overrides: Any) -> TicketSettings:
    values: dict[str, Any] = {
        "backend": "email",
        "mode": "on",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "from": USER,
        "to": ["ops@example.test", "sec@example.test"],
        "token_env": "SMTP_PASSWORD",
        "ca_bundle": smtp.ca_file,
        "timeout_seconds": 5,
    }
    values.update(overrides)
    return TicketSettings.model_validate(values)


def _backend(
    smtp: SmtpServer, state: Path, password: str | None = PASSWORD, **overrides: Any
) -> EmailBackend:
    return EmailBackend(
        _settings(smtp, **overrides),
        password,
        state / "ticket-state.json",
        now=lambda: datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
    )


def _draft(title: str = "[12f.azure-storage-tls] TLS 1.0 allowed — sub-1 (2 resources)") -> TicketDraft:
    return TicketDraft(
        fingerprint=FP,
        text=TicketText(
            title,
            ("Clause 12f: strongest encryption in transit.",),
            (("resource", "message"), ("sta", "TLS1_0"), ("stb-with-a-long-name", "TLS1_1")),
            (
                ("evidence report", "https://reports.example/run/report.html"),
                ("not https", "javascript:alert(1)"),
            ),
        ),
        state=TicketState(failing=("sta", "stb-with-a-long-name")),
    )


def test_a_new_ticket_is_one_mail_delivered_over_starttls_after_login(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    ticket = _backend(smtp, tmp_path).create(_draft())
    [mail] = smtp.messages
    assert mail.tls
    assert smtp.logins == [(USER, True)]
    assert mail.mail_from == USER
    assert mail.rcpt_tos == ("ops@example.test", "sec@example.test")
    message = mail.message
    assert (
        " ".join(message["Subject"].split())  # an encoded-word fold may double a space
        == "[statement-auditor] [12f.azure-storage-tls] TLS 1.0 allowed — sub-1 (2 resources)"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auditor-Fingerprint"] == FP
    assert ticket.url == "mid:" + message["Message-ID"].strip("<>")
    body = message.get_content()
    assert "sta                   TLS1_0" in body
    assert "evidence report: https://reports.example/run/report.html" in body
    assert "javascript:" not in body


def test_updates_are_threaded_under_the_first_mail(smtp: SmtpServer, tmp_path: Path) -> None:
    ticket = _backend(smtp, tmp_path).create(_draft())
    _backend(smtp, tmp_path).comment(
        ticket, TicketText("now 3 resources"), TicketState(failing=("a", "b", "c"))
    )
    _backend(smtp, tmp_path).resolve(ticket, TicketText("passing"), TicketState(resolved_on="2026-11-06"))
    first, update, resolved = (m.message for m in smtp.messages)
    root = first["Message-ID"]
    assert update["In-Reply-To"] == root
    assert update["References"] == root
    assert resolved["In-Reply-To"] == update["Message-ID"]
    assert resolved["References"].split() == [root, update["Message-ID"]]
    assert update["Subject"] == "Re: " + first["Subject"]
    assert resolved.get_content().startswith("Resolved")
    assert len({m.message["Message-ID"] for m in smtp.messages}) == 3
    found = _backend(smtp, tmp_path).find(FP)[0]
    assert found.open is False
    assert found.state.resolved_on == "2026-11-06"


def test_without_a_password_nothing_logs_in(tmp_path: Path) -> None:
    with SmtpServer() as open_relay:
        _backend(open_relay, tmp_path, password=None).create(_draft())
        assert open_relay.logins == []
        assert [m.tls for m in open_relay.messages] == [True]


def test_a_server_without_starttls_gets_nothing(tmp_path: Path) -> None:
    with SmtpServer(starttls=False) as plain:
        with pytest.raises(TrackerError, match="STARTTLS") as caught:
            _backend(plain, tmp_path).create(_draft())
        assert plain.messages == []
        assert PASSWORD not in str(caught.value)
    assert _backend(plain, tmp_path).find(FP) == []


def test_an_untrusted_certificate_is_refused(smtp: SmtpServer, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(TrackerError, match="TLS failed"):
        _backend(smtp, tmp_path, ca_bundle=other_ca).create(_draft())
    assert smtp.messages == []
    assert smtp.logins == []


def test_a_wrong_password_is_a_tracker_error_without_the_password(smtp: SmtpServer, tmp_path: Path) -> None:
    with pytest.raises(TrackerError, match="login refused") as caught:
        _backend(smtp, tmp_path, password="wrong-password-canary").create(_draft())
    assert "wrong-password-canary" not in str(caught.value)
    assert smtp.messages == []


def test_header_injection_in_a_title_stays_in_the_subject(smtp: SmtpServer, tmp_path: Path) -> None:
    _backend(smtp, tmp_path).create(_draft("evil\r\nBcc: victim@example.test\r\n\r\nbody"))
    [mail] = smtp.messages
    assert mail.rcpt_tos == ("ops@example.test", "sec@example.test")
    assert mail.message["Bcc"] is None
    assert "\n" not in mail.message["Subject"]


# -- the scenario over simulated nights, through run_tickets ---------------------------------


def _run(
    smtp: SmtpServer, night: dict[str, Any], day: date, state: Path, password: str = PASSWORD
) -> dict[str, Any]:
    return run_tickets(
        night, _settings(smtp), "on", env={"SMTP_PASSWORD": password}, today=day, state_dir=state
    )


def test_seven_nights_mail_one_thread_of_four(smtp: SmtpServer, tmp_path: Path) -> None:
    for day, night in scenario_nights(date(2026, 11, 1)):
        assert _run(smtp, night, day, tmp_path)["errors"] == []
    messages = [m.message for m in smtp.messages]
    assert [m["X-Auditor-Event"] for m in messages] == ["create", "comment", "resolve", "reopen"]
    root = messages[0]["Message-ID"]
    assert all(root in m["References"] for m in messages[1:])
    assert len({m["X-Auditor-Fingerprint"] for m in messages}) == 1
    assert all(m.tls for m in smtp.messages)
    for mail in smtp.messages:
        assert PASSWORD.encode() not in mail.raw


def test_thirty_new_failures_send_one_summary_mail(smtp: SmtpServer, tmp_path: Path) -> None:
    assert _run(smtp, mass_failure("2026-11-01"), date(2026, 11, 1), tmp_path)["errors"] == []
    assert len(smtp.messages) == 1


def test_a_refused_login_is_one_error_and_raises_nothing(smtp: SmtpServer, tmp_path: Path) -> None:
    section = _run(smtp, erroring("2026-11-01"), date(2026, 11, 1), tmp_path, password="wrong-password")
    assert len(section["errors"]) == 1
    assert "wrong-password" not in section["errors"][0]
    assert smtp.messages == []


def test_hostile_names_arrive_as_plain_text(smtp: SmtpServer, tmp_path: Path) -> None:
    assert _run(smtp, hostile("2026-11-01"), date(2026, 11, 1), tmp_path)["errors"] == []
    [mail] = smtp.messages
    assert mail.message.get_content_type() == "text/plain"
    assert HOSTILE_NAME in mail.message.get_content()
