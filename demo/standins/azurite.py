"""Azurite, Microsoft's Azure Storage emulator, as a real blob service for the archive tests.

Azurite is an npm package pinned in `demo/standins/node/package.json` (and its lock file); it is
installed next to it with `npm ci --prefix demo/standins/node` (tests/run.sh does this when
`node_modules` is missing) and runs on the machine's Node.js.

`running_azurite()` starts its blob service on a free loopback port with a fresh folder, waits
until it answers HTTP, yields an `Azurite` (its connection string and endpoint) and stops it.
By default the account is Azurite's documented development account (`devstoreaccount1` and its
published key); tests that need a key nobody knows pass their own `account` and `key`.
Azurite speaks plain HTTP here, which azure-storage-blob accepts for shared-key connection strings.
It does not enforce immutability policies (Azure/Azurite#2648): it checks the data path only.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

NODE_FOLDER = Path(__file__).resolve().parent / "node"
"""The npm project holding the pinned Azurite (package.json, package-lock.json; node_modules ignored)."""

AZURITE_MAIN = NODE_FOLDER / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
"""Azurite's blob-only entry point (the `azurite-blob` command)."""

INSTALL_COMMAND = "npm ci --prefix demo/standins/node"
"""How a machine gets Azurite (from the repository root): the pinned version, from the npm registry."""

DEVELOPMENT_ACCOUNT = "devstoreaccount1"
DEVELOPMENT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's (and the Azure storage emulator's) published development account and key: not a secret."""

_LISTENING = re.compile(r"Azurite Blob service successfully listens on (http://[^\s]+)")
_START_TIMEOUT = 60.0


class AzuriteUnavailable(Exception):
    """Azurite is not installed or did not start; the message says how to install or what it printed."""


@dataclass(frozen=True)
class Azurite:
    """A running Azurite blob service: where it listens and how to reach it."""

    blob_endpoint: str
    """The account's blob endpoint, e.g. http://127.0.0.1:41234/devstoreaccount1."""
    account: str
    key: str
    folder: Path

    @property
    def connection_string(self) -> str:
        """Return a storage connection string for the account (shared key, plain HTTP)."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    @property
    def port(self) -> int:
        """Return the TCP port the blob service listens on."""
        return int(self.blob_endpoint.rsplit(":", 1)[1].split("/", 1)[0])


def random_key() -> str:
    """Return a fresh base64 account key (64 random bytes), for a test that must find no secret anywhere."""
    return base64.b64encode(os.urandom(64)).decode("ascii")


def node_binary() -> str:
    """Return the path of the `node` program; AzuriteUnavailable when there is none."""
    found = shutil.which("node")
    if found is None:
        raise AzuriteUnavailable("Node.js is not installed (Debian: apt-get install nodejs npm)")
    return found


@contextmanager
def running_azurite(account: str = DEVELOPMENT_ACCOUNT, key: str = DEVELOPMENT_KEY) -> Iterator[Azurite]:
    """Yield a started Azurite blob service for `account`/`key`; stop it and delete its folder afterwards.

    Raises AzuriteUnavailable (saying how to install it) when Azurite is not installed, or with
    its output when it does not come up within a minute.
    """
    if not AZURITE_MAIN.exists():
        raise AzuriteUnavailable(
            f"Azurite is not installed ({AZURITE_MAIN} is missing): run `{INSTALL_COMMAND}` "
            "in the repository (tests/run.sh does)"
        )
    node = node_binary()
    folder = Path(tempfile.mkdtemp(prefix="audit-azurite-"))
    log_path = folder / "azurite.out"
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{account}:{key}"}
    command = [
        node,
        str(AZURITE_MAIN),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",  # the kernel picks a free port; Azurite prints which
        "--location",
        str(folder / "data"),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]
    (folder / "data").mkdir()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
        )
    try:
        base = _wait_for_listening(process, log_path)
        _wait_for_answer(process, base, log_path)
        yield Azurite(blob_endpoint=f"{base}/{account}", account=account, key=key, folder=folder)
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _output(log_path: Path) -> str:
    try:
        return log_path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _wait_for_listening(process: subprocess.Popen[bytes], log_path: Path) -> str:
    """Return the service's base URL once Azurite says it listens; AzuriteUnavailable if it never does."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        match = _LISTENING.search(_output(log_path))
        if match:
            return match.group(1).rstrip("/")
        if process.poll() is not None:
            raise AzuriteUnavailable(
                f"Azurite exited with {process.returncode} before listening: {_output(log_path)[-2000:]}"
            )
        time.sleep(0.05)
    raise AzuriteUnavailable(
        f"Azurite did not listen within {_START_TIMEOUT:.0f} s: {_output(log_path)[-2000:]}"
    )


def _wait_for_answer(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    """Return once the blob service answers an HTTP request (any status: it needs no credential for that)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AzuriteUnavailable(f"Azurite exited with {process.returncode}: {_output(log_path)[-2000:]}")
        connection = http.client.HTTPConnection(host, int(port), timeout=2)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
        finally:
            connection.close()
    raise AzuriteUnavailable(
        f"Azurite did not answer within {_START_TIMEOUT:.0f} s: {_output(log_path)[-2000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Azurite (SIGTERM, then SIGKILL after 10 s) and reap it."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=10)
