"""A real Celery worker of one site, started the way README's "Several sites" says, for tests and the demo.

    worker = SiteWorker("rivium", broker_url, password, log_folder).start()          # this network
    worker = SiteWorker("amsterdam", url, password, folder, netns="site123").start()  # in a namespace
    worker.kill()   # SIGKILL the whole worker (a site cut off mid-run); stop() ends it gently

`start()` waits until the worker says it is ready, so a test's orders never race its start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class SiteWorker:
    """`celery -A collectors.distributed.app worker -Q <site>` as its own process group."""

    def __init__(
        self,
        site: str,
        broker_url: str,
        password: str,
        folder: Path,
        *,
        netns: str | None = None,
        environment: Mapping[str, str] | None = None,
        concurrency: int = 1,
    ) -> None:
        self.site = site
        self.broker_url = broker_url
        self.password = password
        self.folder = folder
        self.netns = netns
        self.environment = dict(environment or {})
        self.concurrency = concurrency
        self.log = folder / f"worker-{site}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """Return the worker's command line (inside `ip netns exec` when it has a namespace)."""
        celery = [
            sys.executable, "-m", "celery", "-A", "collectors.distributed.app", "worker",
            "-Q", self.site, "--hostname", f"{self.site}@%h", "--concurrency", str(self.concurrency),
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]  # fmt: skip
        return ["ip", "netns", "exec", self.netns, *celery] if self.netns else celery

    def start(self, timeout: float = 30.0) -> SiteWorker:
        """Start the worker and return once it is ready to take orders."""
        self.folder.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            **self.environment,
            "AUDITOR_BROKER_URL": self.broker_url,
            "AUDITOR_BROKER_PASSWORD": self.password,
            "PYTHONUNBUFFERED": "1",
        }
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_text():
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        text = self.log_text()
        self.kill()
        raise RuntimeError(f"the worker of site {self.site} did not start:\n{text[-3000:]}")

    @property
    def pid(self) -> int | None:
        """Return the worker's main process id while it runs (its pool children are below it)."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def received(self) -> int:
        """Return how many orders the worker has received so far (from its log)."""
        return self.log_text().count("Task auditor.collect[")

    def kill(self) -> None:
        """SIGKILL the worker and every process it started: a site cut off without a goodbye."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        """End the worker gently (SIGTERM: a warm shutdown), killing it after 10 s."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.kill()

    def log_text(self) -> str:
        """Return what the worker logged."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
