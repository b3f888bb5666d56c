"""The first handshake before the scan (collectors/tls/first_handshake.py): silence is `error`, any answer is not.

Real sockets on loopback: a listener that accepts and never answers (a hung server), one that
answers the ClientHello with bytes that are no TLS and closes, a closed port, and a real
`openssl s_server`. Only the silent one is reported; every other case is left to the scan.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from collectors.messages import english_text
from collectors.tls.facts import TlsTarget
from collectors.tls.first_handshake import silence_of, silent_targets
from demo.standins.loopback import free_port
from demo.standins.tls_servers import TlsServers, issue_cert

HOST = "www.example.test"


@pytest.fixture
def silent_port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    with listener:
        yield listener.getsockname()[1]


@pytest.fixture
def garbage_port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def answer() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with listener:
        yield listener.getsockname()[1]


def target(port: int, starttls: str | None = None) -> TlsTarget:
    return TlsTarget(HOST, port, address="127.0.0.1", http_port=None, starttls=starttls)


def test_a_server_that_never_answers_is_named_silent(silent_port: int) -> None:
    reason = silence_of(target(silent_port), timeout=1.0)
    assert reason is not None
    assert english_text(reason) == (
        f"{HOST}:{silent_port} accepted the TCP connection but did not answer the TLS handshake within 1 s; "
        "the scan was skipped"
    )


def test_an_answer_that_is_no_tls_is_left_to_the_scan(garbage_port: int) -> None:
    assert silence_of(target(garbage_port), timeout=2.0) is None


def test_a_closed_port_is_left_to_the_scan() -> None:
    assert silence_of(target(free_port()), timeout=1.0) is None


def test_a_real_tls_server_is_not_silent(tmp_path: Path) -> None:
    ca = trustme.CA()
    with TlsServers(tmp_path) as servers:
        port = servers.openssl(issue_cert(tmp_path, ca, "good", HOST))
        assert silence_of(target(port), timeout=2.0) is None


def test_starttls_targets_are_not_probed(silent_port: int) -> None:
    assert silent_targets([target(silent_port, starttls="smtp")], timeout=1.0, max_concurrency=4) == {}
    assert set(silent_targets([target(silent_port)], timeout=1.0, max_concurrency=4)) == {
        target(silent_port).id
    }
