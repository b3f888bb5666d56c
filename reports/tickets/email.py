"""E-mail as the ticket tracker: one plain-text mail per action, threaded per problem, over STARTTLS only.

Every action (create, comment, resolve, reopen) is one mail from `[tickets] from` to `[tickets] to`
through `smtp_host:smtp_port`. The connection is always upgraded with STARTTLS, verified against
`ca_bundle` (or the system trust store); a server that does not offer STARTTLS gets nothing, not
even mail without credentials. The backend logs in only when a password is set.

Threading: the first mail of a ticket has `Message-ID: <...@from-domain>`; every later mail of the
same ticket carries `In-Reply-To` (the previous mail) and `References` (the first and the previous
mail) and the subject `Re: [statement-auditor] <title>`, so mail clients show one conversation per
problem. `Auto-Submitted: auto-generated` (RFC 3834) keeps auto-responders quiet, and
`X-Auditor-Fingerprint` lets a mail rule route them.

A mailbox cannot be searched, so a memory file beside the run's state file (`state_path` ->
`ticket-state.email.json`) is this backend's record, written only after the server accepted the
mail; it must be kept between nights. Ticket keys are `<fingerprint>-<n>`; a ticket's
URL is the RFC 2392 `mid:` URL of its first mail.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from reports.tickets.local_tickets import LocalTicket, LocalTickets, memory_path
from reports.tickets.model import Ticket, TicketDraft, TicketState, TicketText, TrackerError
from reports.tickets.settings import TicketSettings

SUBJECT_PREFIX = "[statement-auditor]"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_ACTIONS = {
    "create": "New problem",
    "comment": "Update",
    "resolve": "Resolved",
    "reopen": "Reopened",
}


def _clean(value: str) -> str:
    """Return `value` without control characters (terminal escapes, stray CRs) that could disguise text."""
    return _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))


def _one_line(value: str) -> str:
    return " ".join(_clean(value).split())


def render_text(text: TicketText) -> str:
    """Return `text` as a plain-text mail body: title, paragraphs, an aligned table, then links."""
    lines = [_one_line(text.title), ""]
    for paragraph in text.paragraphs:
        lines.extend([_clean(paragraph), ""])
    if text.table:
        rows = [[_one_line(cell) for cell in row] for row in text.table]
        widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        lines.append("")
    for label, url in text.links:
        if url.startswith("https://"):
            lines.append(f"{_one_line(label)}: {_one_line(url)}")
    return "\n".join(lines).rstrip() + "\n"


def subject_for(title: str) -> str:
    """Return the first mail's subject: the prefix and the title on one line (no header injection)."""
    return f"{SUBJECT_PREFIX} {_one_line(title)}"[:200]


class EmailBackend:
    """Tickets as threaded e-mails over SMTP with STARTTLS, remembered in a local state file."""

    name = "email"

    def __init__(
        self,
        settings: TicketSettings,
        password: str | None,
        state_path: Path | None,
        *,
        user: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Send through `settings.smtp_host`; log in as `user` (default: the from address) when `password` is set."""
        if not settings.smtp_host or not settings.from_address or not settings.to:
            raise TrackerError("email: [tickets] smtp_host, from and to are required")
        self.settings = settings
        self._password = password or None
        self._user = user or settings.from_address
        self._now = now
        self._domain = settings.from_address.rpartition("@")[2] or "statement-auditor.invalid"
        if state_path is None:
            raise TrackerError("email: a state file is needed to remember tickets ([tickets] state_file)")
        self.memory = LocalTickets(memory_path(state_path, "email"))
        self.sent: list[EmailMessage] = []
        """The mails this backend handed to the server, in order (for the run's log and tests)."""

    def find(self, fingerprint: str) -> list[Ticket]:
        """Return the tickets mailed for `fingerprint` (from the state file), newest first."""
        return [local.ticket for local in self.memory.find(fingerprint)]

    def create(self, draft: TicketDraft) -> Ticket:
        """Mail a new thread for the problem; remember and return the ticket."""
        key = self.memory.next_key(draft.fingerprint)
        message_id = self._message_id(key)
        subject = subject_for(draft.text.title)
        body = render_text(draft.text)
        if draft.related:
            body += (
                "\nEarlier tickets for the same problem: " + ", ".join(map(_one_line, draft.related)) + "\n"
            )
        message = self._message("create", draft.fingerprint, subject, body, message_id)
        self._deliver(message)
        ticket = Ticket(
            key=key,
            url="mid:" + message_id.strip("<>"),
            fingerprint=draft.fingerprint,
            open=True,
            state=draft.state,
        )
        self.memory.add(
            LocalTicket(ticket=ticket, extra={"subject": subject, "root": message_id, "last": message_id})
        )
        return ticket

    def comment(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Mail an update into the ticket's thread and remember `state`."""
        self._reply("comment", ticket, text)
        self.memory.update(ticket.key, state=state)

    def resolve(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Mail the resolution into the thread and remember the ticket as closed (Done)."""
        self._reply("resolve", ticket, text)
        self.memory.update(ticket.key, state=state, closed=self._now())

    def reopen(self, ticket: Ticket, text: TicketText, state: TicketState) -> None:
        """Mail the regression into the thread and remember the ticket as open again."""
        self._reply("reopen", ticket, text)
        self.memory.update(ticket.key, state=state, reopen=True)

    def save_state(self, ticket: Ticket, state: TicketState) -> None:
        """Remember `state` locally; no mail is sent."""
        self.memory.update(ticket.key, state=state)

    def _reply(self, action: str, ticket: Ticket, text: TicketText) -> None:
        local = self.memory.get(ticket.key)
        root = local.extra.get("root", "")
        last = local.extra.get("last", root)
        subject = "Re: " + local.extra.get("subject", subject_for(text.title))
        message_id = self._message_id(ticket.key)
        message = self._message(action, ticket.fingerprint, subject, render_text(text), message_id)
        if last:
            message["In-Reply-To"] = last
            message["References"] = " ".join(dict.fromkeys(ref for ref in (root, last) if ref))
        self._deliver(message)
        self.memory.remember(ticket.key, last=message_id)

    def _message_id(self, key: str) -> str:
        """A globally unique Message-ID short enough not to be folded: `<key.random@from-domain>`."""
        return f"<{key}.{uuid.uuid4().hex[:16]}@{self._domain}>"

    def _message(
        self, action: str, fingerprint: str, subject: str, body: str, message_id: str
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.from_address or ""
        message["To"] = ", ".join(self.settings.to)
        message["Subject"] = subject
        message["Date"] = format_datetime(self._now().astimezone(UTC))
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auditor-Fingerprint"] = _one_line(fingerprint)
        message["X-Auditor-Event"] = action
        message.set_content(f"{_ACTIONS[action]}\n\n{body}")
        return message

    def _deliver(self, message: EmailMessage) -> None:
        host, port = self.settings.smtp_host or "", self.settings.smtp_port
        where = f"SMTP {host}:{port}"
        cafile = str(self.settings.ca_bundle) if self.settings.ca_bundle else None
        try:
            context = ssl.create_default_context(cafile=cafile)
            with smtplib.SMTP(host, port, timeout=self.settings.timeout_seconds) as smtp:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise TrackerError(
                        f"{where}: the server does not offer STARTTLS; nothing is sent without TLS"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
                if self._password is not None:
                    smtp.login(self._user, self._password)
                refused = smtp.send_message(message)
        except TrackerError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise TrackerError(f"{where}: login refused (SMTP {exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused:
            raise TrackerError(f"{where}: every recipient was refused") from None
        except smtplib.SMTPResponseException as exc:
            raise TrackerError(f"{where}: the server answered SMTP {exc.smtp_code}") from None
        except smtplib.SMTPException as exc:
            raise TrackerError(f"{where}: {type(exc).__name__}") from None
        except ssl.SSLError as exc:
            raise TrackerError(f"{where}: TLS failed ({exc.reason or type(exc).__name__})") from None
        except OSError as exc:
            raise TrackerError(f"{where}: could not connect ({exc.strerror or type(exc).__name__})") from None
        if refused:
            raise TrackerError(f"{where}: {len(refused)} recipient(s) refused")
        self.sent.append(message)
