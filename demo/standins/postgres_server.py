"""A real PostgreSQL cluster for the tests: initdb in a temporary folder, loopback port, pg_ctl.

initdb refuses to run as root, so when the tests run as root the server binaries run as the
`postgres` OS user (`runuser -u postgres --`) in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from demo.standins.loopback import free_port

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "pg-test-superuser-7d41"


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries on this machine (the tests that need one fail: CI must not skip them)."""


def server_binaries() -> Path:
    """Return the newest `/usr/lib/postgresql/*/bin` holding initdb and pg_ctl."""
    found = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if (Path(p) / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresUnavailable("no /usr/lib/postgresql/*/bin/initdb (install Debian's postgresql)")
    return found[-1]


@dataclass
class PostgresServer:
    """A running throw-away cluster on 127.0.0.1:port with a password-authenticated superuser."""

    folder: Path
    port: int
    bin_dir: Path
    run_as: str | None

    @property
    def host(self) -> str:
        """Return the loopback address the server listens on."""
        return "127.0.0.1"

    def _command(self, *argv: str) -> list[str]:
        return (["runuser", "-u", self.run_as, "--"] if self.run_as else []) + list(argv)

    def connect(self, database: str = "postgres", **kwargs: Any) -> psycopg.Connection[tuple[Any, ...]]:
        """Return an autocommit superuser connection to `database`, for planting test data."""
        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": SUPERUSER,
            "password": SUPERUSER_PASSWORD,
            "dbname": database,
            "autocommit": True,
        }
        params.update(kwargs)
        return psycopg.connect(**params)

    def execute(self, database: str, *statements: str) -> None:
        """Run `statements` as the superuser in `database`."""
        with self.connect(database) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def start(self) -> None:
        """Initialise the cluster and start it; raise if it does not come up."""
        data = self.folder / "data"
        pwfile = self.folder / "pwfile"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n", encoding="utf-8")
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for path in (self.folder, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        subprocess.run(
            self._command(
                str(self.bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
            "-c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=40"
        )
        subprocess.run(
            self._command(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.folder / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown)."""
        subprocess.run(
            self._command(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"
            ),
            check=False,
            capture_output=True,
            timeout=60,
        )

    def log_text(self) -> str:
        """Return the server's log (to check what the auditor's session did)."""
        path = self.folder / "server.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Yield a started throw-away cluster; stop it and delete its folder afterwards."""
    bin_dir = server_binaries()
    run_as = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="audit-pg-"))
    server = PostgresServer(folder=folder, port=free_port(), bin_dir=bin_dir, run_as=run_as)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
