"""Free TCP ports for the test servers (sshd, nginx, openssl, PostgreSQL, SMTP)."""

from __future__ import annotations

import socket


def free_ports(count: int, address: str = "127.0.0.1") -> list[int]:
    """Return `count` distinct TCP ports free on `address` right now.

    The sockets are held open until all are bound, so the kernel cannot hand out one port
    twice within a call (two servers, or two nginx `listen` lines, on one port).
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((address, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port(address: str = "127.0.0.1") -> int:
    """Return one TCP port free on `address` right now."""
    return free_ports(1, address)[0]
