"""A real Redis broker for the distributed tests and the two-site demo (Debian's redis-server).

    with RedisBroker(tmp_path, password="...", bind=("127.0.0.1",)) as broker:
        broker.url              # redis://127.0.0.1:<port>/0, without the password

No persistence (nothing on disk but the log), a password (`requirepass`), and a port picked
free on the first bind address. When redis-server is not installed, `start()` raises
BrokerMissing telling to run `bash tests/run.sh`, which installs it: the tests fail, never skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from demo.standins.loopback import free_port


class BrokerMissing(RuntimeError):
    """redis-server is not installed (bash tests/run.sh installs Debian's redis-server)."""


class RedisBroker:
    """One redis-server process on free port, stopped (and waited for) by `stop()`."""

    def __init__(self, folder: Path, *, password: str, bind: tuple[str, ...] = ("127.0.0.1",)) -> None:
        self.folder = folder
        self.password = password
        self.bind = bind
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the broker's URL without the password: redis://<first bind address>:<port>/0."""
        return f"redis://{self.bind[0]}:{self.port}/0"

    def url_from(self, address: str) -> str:
        """Return the URL as a worker reaching the broker at `address` (one of `bind`) names it."""
        return f"redis://{address}:{self.port}/0"

    def start(self) -> RedisBroker:
        """Start redis-server and wait until it accepts connections."""
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise BrokerMissing(
                "redis-server is not installed: run `bash tests/run.sh` (it installs redis-server)"
            )
        self.port = free_port(self.bind[0])
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "redis.conf"
        config.write_text(
            f"port {self.port}\nbind {' '.join(self.bind)}\nrequirepass {self.password}\n"
            f'save ""\nappendonly no\ndir {self.folder}\nlogfile {self.folder / "redis.log"}\n',
            encoding="utf-8",
        )
        config.chmod(0o600)
        self._process = subprocess.Popen(
            [binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.bind[0], self.port), timeout=0.5):
                    return self
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start: {self.log_text()[-2000:]}")

    def stop(self) -> None:
        """Stop redis-server (TERM, then KILL after 5 s) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log_text(self) -> str:
        """Return redis-server's log (for a failing test's message)."""
        log = self.folder / "redis.log"
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""

    def __enter__(self) -> RedisBroker:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
