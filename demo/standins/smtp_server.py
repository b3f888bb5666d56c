"""A real SMTP server on loopback (aiosmtpd) that demands STARTTLS, for the e-mail ticket backend.

    with SmtpServer(user="auditor@example.test", password=...) as smtp:
        smtp.port, smtp.ca_file      # [tickets] smtp_port / ca_bundle (host 127.0.0.1)
        smtp.messages                # every accepted mail: envelope and parsed message
        smtp.logins                  # (user, accepted) of every AUTH attempt

The certificate comes from a trustme CA written to `ca_file`. `require_starttls=True` refuses
any command but EHLO/STARTTLS/QUIT before TLS, and AUTH is offered only after TLS. With
`starttls=False` the server offers no STARTTLS at all (to prove the client refuses to send).
"""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from demo.standins.loopback import free_port


@dataclass(frozen=True)
class Delivered:
    """One accepted mail: who sent it to whom, the raw bytes, and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    tls: bool
    """Whether the session was encrypted when the mail was accepted."""


class _Collect:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(
                Delivered(
                    str(envelope.mail_from),
                    tuple(envelope.rcpt_tos),
                    raw,
                    message,
                    session.ssl is not None,
                )
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS required and AUTH only after TLS."""

    def __init__(
        self, *, user: str | None = None, password: str | None = None, starttls: bool = True
    ) -> None:
        """Accept mail; when `user` is given, AUTH must be `user`/`password` (and is then required)."""
        self.user = user
        self.password = password
        self.messages: list[Delivered] = []
        self.logins: list[tuple[str, bool]] = []
        self.lock = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="smtp-server-"))
        ca = trustme.CA()
        self.ca_file = self._folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(self._context)
        self.port = free_port()
        options: dict[str, Any] = {"auth_require_tls": True}
        if starttls:
            options.update(tls_context=self._context, require_starttls=True)
        if user is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        self._controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            login = data.login.decode("utf-8", "replace")
            ok = login == self.user and data.password.decode("utf-8", "replace") == self.password
            with self.lock:
                self.logins.append((login, ok))
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    def __enter__(self) -> Self:
        """Start the server thread."""
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Stop the server and remove the CA file."""
        self._controller.stop()
        shutil.rmtree(self._folder, ignore_errors=True)
