"""Sending the probes: one non-blocking TCP connect, its answer told apart, and where it was sent from.

The ICMP type and code of a failed connect, and who sent it, are read from the socket's error
queue (Linux), so a firewall's rejection (filtered) is told apart from an unreachable host.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import sys
import time

from collectors.probes.observations import (
    UNREACHABLE_ERRNOS,
    AttemptState,
    ConnectAttempt,
    VantagePoint,
    errno_name,
)
from reports.evidence import utc_now

ROUTE_PROBE_ADDRESSES = {"ipv4": "1.1.1.1", "ipv6": "2606:4700:4700::1111"}
"""Destinations used only to ask the OS which source address its default route would use (UDP
connect sends no packet)."""
IP_RECVERR = 11
IPV6_RECVERR = 25
"""Linux socket options (linux/in.h, linux/in6.h) queueing ICMP errors with type, code and sender."""
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
ADMIN_PROHIBITED = {
    SO_EE_ORIGIN_ICMP: {(3, 9), (3, 10), (3, 13)},
    SO_EE_ORIGIN_ICMP6: {(1, 1), (1, 5), (1, 6)},
}
"""ICMP destination unreachable codes that a firewall sends when it rejects (RFC 1812 5.2.7.1:
net/host/communication administratively prohibited; RFC 4443 3.1: administratively prohibited,
source address failed ingress/egress policy, reject route): filtered, not unreachable."""


def route_source(family: str) -> str | None:
    """Return the source address the default route of `family` would use (UDP connect: no packet sent)."""
    destination = ROUTE_PROBE_ADDRESSES[family]
    kind = socket.AF_INET if family == "ipv4" else socket.AF_INET6
    try:
        with socket.socket(kind, socket.SOCK_DGRAM) as sock:
            sock.connect((destination, 9))
            return str(sock.getsockname()[0])
    except OSError:
        return None


def vantage_point() -> VantagePoint:
    """Return this machine's vantage point: host name, default-route source addresses, current time."""
    sources = tuple(s for family in ("ipv4", "ipv6") if (s := route_source(family)) is not None)
    return VantagePoint(host=socket.gethostname(), source_addresses=sources, started_at=utc_now())


def _icmp_answer(sock: socket.socket) -> tuple[int, int, int, str] | None:
    """Return the (origin, ICMP type, code, sender) queued on the socket's error queue, or None."""
    try:
        _, ancillary, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
    except (OSError, AttributeError):
        return None
    for _level, _kind, raw in ancillary:
        if len(raw) < 16:
            continue
        _errno, origin, icmp_type, code, _pad, _info, _data = struct.unpack_from("=IBBBBII", raw)
        sender = ""
        if len(raw) >= 24 and struct.unpack_from("=H", raw, 16)[0] == socket.AF_INET:
            sender = socket.inet_ntop(socket.AF_INET, raw[20:24])
        elif len(raw) >= 40 and struct.unpack_from("=H", raw, 16)[0] == socket.AF_INET6:
            sender = socket.inet_ntop(socket.AF_INET6, raw[24:40])
        if origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            return origin, icmp_type, code, sender
    return None


def _ask_for_icmp_errors(sock: socket.socket, family: int) -> None:
    """Ask Linux to queue ICMP errors (type, code, sender) on the socket, best effort elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    except OSError:
        pass


def classify_failure(
    code: int, icmp: tuple[int, int, int, str] | None
) -> tuple[AttemptState | None, str, str | None]:
    """Return (state, detail, who answered) of a connect that failed with errno `code` after the SYN left.

    ECONNREFUSED is refused; ICMP "administratively prohibited" is filtered (a firewall
    rejects); EHOSTUNREACH/ENETUNREACH otherwise is unreachable, never filtered; anything else
    proves nothing (None).
    """
    sender = icmp[3] if icmp else None
    what = f"ICMP type {icmp[1]} code {icmp[2]} from {icmp[3] or 'unknown'}" if icmp else ""
    detail = f"{errno_name(code)} ({what})" if what else errno_name(code)
    if code == errno.ECONNREFUSED:
        return "refused", detail, sender
    if icmp is not None and (icmp[1], icmp[2]) in ADMIN_PROHIBITED.get(icmp[0], set()):
        return "filtered", f"{detail}: administratively prohibited", sender
    if code in UNREACHABLE_ERRNOS or code == errno.EHOSTDOWN:
        return "unreachable", detail, sender
    return None, f"connect failed: {detail}", sender


def connect_once(peer: str, family: int, port: int, timeout: float) -> ConnectAttempt:
    """Make one non-blocking TCP connect to peer:port and tell open, refused, filtered and unreachable apart."""
    started_at = utc_now()
    start = time.monotonic()
    source = ""

    def done(state: AttemptState | None, detail: str, answered_by: str | None = None) -> ConnectAttempt:
        elapsed = round((time.monotonic() - start) * 1000, 1)
        return ConnectAttempt(peer, state, detail, source, elapsed, started_at, answered_by)

    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        _ask_for_icmp_errors(sock, family)
        code = sock.connect_ex((peer, port))
        if code not in (0, errno.EINPROGRESS):
            if code == errno.ECONNREFUSED:
                return done("refused", "ECONNREFUSED", peer)
            return done(None, f"the vantage point could not send the connect: {errno_name(code)}")
        try:
            source = str(sock.getsockname()[0])
        except OSError:
            source = ""
        if code == 0:
            return done("open", "connected", peer)
        poller = select.poll()  # not select(): descriptors above FD_SETSIZE under high concurrency
        poller.register(sock, select.POLLOUT)
        if not poller.poll(max(0, int(timeout * 1000))):
            return done("filtered", f"no answer in {timeout:g} s")
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            return done("open", "connected", peer)
        icmp = _icmp_answer(sock)
        if code == errno.ECONNREFUSED and icmp is None:
            return done("refused", "ECONNREFUSED", peer)
        state, detail, sender = classify_failure(code, icmp)
        return done(state, detail, sender)


def resolve(address: str, port: int) -> list[tuple[int, str]]:
    """Return the (family, IP) pairs a name or literal resolves to for TCP; OSError when it does not."""
    infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in infos:
        pair = (int(family), str(sockaddr[0]))
        if pair not in seen:
            seen.append(pair)
    return seen
