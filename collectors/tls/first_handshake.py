"""One TLS handshake before the scan: a server that takes the TCP connection and never answers is `error` at once.

sslyze's connectivity test tries several protocol versions, each with its retry, before it gives
up on a server that accepts TCP but never answers a ClientHello: about eleven timeouts (close to a
minute at 5 s) for one dead endpoint. One handshake of our own first, bounded by the same timeout,
finds such a server in one timeout; its scan is then skipped and its items are `error` saying so.
Any answer at all (a completed handshake, an alert, a protocol error, a closed connection) means
the server is alive: the scan then judges it. Only direct TLS is probed this way (STARTTLS needs
its protocol's greeting first; sslyze does that).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from collectors.messages import Reason
from collectors.tls.facts import TlsTarget
from reports.evidence import msg


def silence_of(target: TlsTarget, timeout: float) -> Reason | None:
    """Return why `target` is silent (TCP accepted, no answer to a ClientHello within `timeout`), or None.

    None also when the TCP connection itself fails: the scan reports that in its own words.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    try:
        connection = socket.create_connection((target.address or target.host, target.port), timeout=timeout)
    except OSError:
        return None
    try:
        with context.wrap_socket(
            connection, server_hostname=target.server_name, do_handshake_on_connect=False
        ) as tls:
            tls.settimeout(timeout)
            tls.do_handshake()
    except TimeoutError:
        return msg(
            "{host}:{port} accepted the TCP connection but did not answer the TLS handshake within {seconds} s; "
            "the scan was skipped",
            host=target.host,
            port=target.port,
            seconds=format(timeout, "g"),
        )
    except (OSError, ssl.SSLError, ValueError):
        return None  # an answer, even a refusal: the server is alive and the scan judges it
    finally:
        connection.close()
    return None


def silent_targets(targets: Sequence[TlsTarget], timeout: float, max_concurrency: int) -> dict[str, Reason]:
    """Return {target id: why} for the direct-TLS targets that do not answer a first handshake (probed concurrently)."""
    direct = [t for t in targets if t.starttls is None]
    if not direct:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(max_concurrency, len(direct)))) as pool:
        found = dict(
            zip((t.id for t in direct), pool.map(lambda t: silence_of(t, timeout), direct), strict=True)
        )
    return {target_id: reason for target_id, reason in found.items() if reason is not None}
