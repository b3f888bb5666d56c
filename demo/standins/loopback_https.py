"""The HTTPS plumbing the emulators share: a silent threaded server on 127.0.0.1 with its own CA.

The ARM emulator (`demo.standins.arm_emulator`) and the ticket-tracker emulators
(`demo.standins.ticket_emulators.base`) answer differently but serve the same way:

- `LoopbackServer` serves each connection in a daemon thread for its `emulator` and keeps the
  open connections, so that stopping it really stops answering (keep-alive connections are cut);
- `QuietHandler` speaks HTTP/1.1 with keep-alive, sends JSON answers (`send_json`) and logs
  nothing (requests carry credentials);
- `loopback_ca` makes a trustme CA and a certificate for 127.0.0.1/localhost, the CA's PEM in a
  temporary folder that lives as long as its owner (clients take it as their CA bundle);
- `serve_tls` wraps the socket in TLS 1.2+ and serves in a thread; `stop_serving` ends both.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import tempfile
import threading
import weakref
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import trustme

EmulatorT = TypeVar("EmulatorT")


class LoopbackServer(ThreadingHTTPServer, Generic[EmulatorT]):
    """A threaded HTTP server that keeps its open connections, to cut them when it stops."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: EmulatorT
    ) -> None:
        """Bind `address` and serve each connection with `handler` in its own daemon thread.

        `emulator` is what answers: the handlers reach it as `server.emulator`.
        """
        super().__init__(address, handler)
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def drop_connections(self) -> None:
        """Cut open keep-alive connections so a stopped server really stops answering."""
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about dropped connections and failed TLS handshakes."""


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, registered with its `LoopbackServer` while open; never logs."""

    protocol_version = "HTTP/1.1"
    sys_version = ""
    timeout = 30
    disable_nagle_algorithm = True

    def setup(self) -> None:
        """Register the connection so the server's `drop_connections` can cut it."""
        super().setup()
        server = cast(LoopbackServer[Any], self.server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        """Unregister the connection."""
        server = cast(LoopbackServer[Any], self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Never log anything: requests carry bearer tokens and passwords, so the emulators stay silent."""

    def send_json(self, status: int, payload: bytes, headers: Iterable[tuple[str, str]]) -> None:
        """Send an answer: `status`, a JSON content type and length, `headers` in order, then
        `payload` (not for HEAD)."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def loopback_ca(owner: object, folder_prefix: str, ca_file_name: str) -> tuple[trustme.LeafCert, Path]:
    """Return a fresh certificate for 127.0.0.1 and localhost, and the file holding its CA (PEM).

    The CA is a new trustme CA, so only a client given that file trusts the server. The file sits
    in a temporary folder (named with `folder_prefix`) removed when `owner` is garbage-collected or
    the interpreter exits, so a client of a stopped emulator sees a connection error, not a missing
    CA bundle.
    """
    folder = tempfile.mkdtemp(prefix=folder_prefix)
    weakref.finalize(owner, shutil.rmtree, folder, ignore_errors=True)  # also runs at exit
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = Path(folder) / ca_file_name
    ca.cert_pem.write_to_path(str(ca_file))
    return cert, ca_file


def serve_tls(server: LoopbackServer[Any], cert: trustme.LeafCert, name: str) -> threading.Thread:
    """Wrap `server`'s socket in TLS 1.2+ with `cert` and serve it in a daemon thread; return the thread."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(context)
    # Handshake lazily in the per-connection thread so a bad client cannot stall accept().
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: LoopbackServer[Any] | None, thread: threading.Thread | None) -> None:
    """Stop `server` (if any), close its listening socket, cut its connections and join its thread."""
    if server is not None:
        server.shutdown()
        server.server_close()
        server.drop_connections()
    if thread is not None:
        thread.join(timeout=5)
