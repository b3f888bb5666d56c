"""A real OpenSSH sshd for the tests: several "hosts" on loopback addresses, one port, per-address behaviour.

    with SshdServer(tmp_path, {"web1": None, "slow": HostBehaviour(command="sleep 60")}) as sshd:
        entry = sshd.host_entry("web1")          # a HostEntry: root@127.0.0.2:<port>, ed25519 key, known_hosts
        ...

How it works: one Debian `/usr/sbin/sshd -D` runs as root from a temp dir with generated host keys
(ed25519, ECDSA, RSA), an `authorized_keys` holding generated user keys (ed25519, ECDSA, RSA and a
passphrase-protected ed25519), `StrictModes no`, `UsePAM no`, `PermitRootLogin prohibit-password`
and `LogLevel VERBOSE` into `sshd.N.log`. Each named host gets its own loopback address (127.0.0.2,
127.0.0.3, ... in the order given; all of 127.0.0.0/8 is local on Linux; one sshd process per 16
addresses, OpenSSH's limit of listen sockets, all on one port) and a `Match LocalAddress`
block whose `ForceCommand` first appends the client's command (`$SSH_ORIGINAL_COMMAND`) to
`commands/<address>` (so a test can prove that *no* command arrived) and then runs either the
client's command (behaviour `None`) or the behaviour's `command` (a shell snippet, e.g. a Windows
stand-in `python_command(".../windows_powershell.py", "patched-2022")`, which reads
`$SSH_ORIGINAL_COMMAND` and stdin itself). `listening=False` leaves an address without a listener
(connection refused); `silent=True` puts a plain socket there that accepts TCP but never speaks SSH.

`stop()` freezes sshd and every process below it (SIGSTOP, so nothing can fork away), kills them,
and kills any leftover session process (they carry `AUDIT_SSHD_HARNESS=<token>` in their
environment, set with sshd's `SetEnv`): no process is left behind, even a `sleep 60` whose client
gave up. When sshd is not installed, `start()` raises `SshdMissing` telling to run `bash tests/run.sh`
(which installs Debian's openssh-server): the tests fail, they never skip.

One module of ~580 lines: the generated keys, the per-address sshd configuration and the
process-tree cleanup all belong to the one `SshdServer` they start and stop.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from collectors.config.inventory import HostEntry
from demo.standins.loopback import free_port

__all__ = [
    "ENCRYPTED_KEY_PASSPHRASE",
    "HOST_KEY_TYPES",
    "USER_KEY_TYPES",
    "HostBehaviour",
    "SshdMissing",
    "SshdServer",
    "hosts_toml",
    "python_command",
]

SSHD = Path("/usr/sbin/sshd")
HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa")
USER_KEY_TYPES = ("ed25519", "ecdsa", "rsa")
ENCRYPTED_KEY_PASSPHRASE = "correct horse battery staple"
_PER_SSHD = 16
_INSTALL_HINT = "run `bash tests/run.sh` once (it installs Debian's openssh-server), then rerun the tests"


class SshdMissing(RuntimeError):
    """OpenSSH's sshd is not installed: the host tests cannot run (they fail rather than skip)."""


@dataclass(frozen=True)
class HostBehaviour:
    """How one loopback "host" answers."""

    command: str | None = None
    """Shell snippet run instead of the client's command (sshd ForceCommand); None runs the client's."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment variables exported before `command` (or the client's command) runs."""
    listening: bool = True
    """False: the address gets no listener (connection refused), like a host that is down."""
    silent: bool = False
    """True: a plain socket accepts TCP on the address but never sends an SSH banner (connect timeout)."""
    log_level: str | None = None
    """sshd LogLevel for connections to this address (e.g. "DEBUG1" to see direct-tcpip requests)."""


def python_command(script: Path | str, *args: str) -> str:
    """Return a shell command running `script` with this interpreter (sshd's PATH may hold another python3)."""
    return " ".join(shlex.quote(part) for part in (sys.executable, str(script), *args))


@dataclass(frozen=True)
class _KeyPair:
    private_openssh: bytes
    public_line: str
    """`<type> <base64>` as in authorized_keys / known_hosts."""

    @property
    def key_type(self) -> str:
        return self.public_line.split()[0]

    @property
    def blob(self) -> bytes:
        return base64.b64decode(self.public_line.split()[1])

    @property
    def fingerprint(self) -> str:
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")


def _pair(
    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    passphrase: str | None = None,
) -> _KeyPair:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return _KeyPair(
        private_openssh=private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
        ),
        public_line=private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode(),
    )


def _new_key(kind: str) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _key_material() -> dict[str, _KeyPair]:
    """Keys generated once per test process (start() must stay well under a second)."""
    keys = {f"host-{kind}": _pair(_new_key(kind)) for kind in USER_KEY_TYPES}
    keys |= {f"user-{kind}": _pair(_new_key(kind)) for kind in USER_KEY_TYPES}
    keys["user-encrypted"] = _pair(_new_key("ed25519"), ENCRYPTED_KEY_PASSPHRASE)
    keys["stranger"] = _pair(_new_key("ed25519"))
    keys["impostor-host"] = _pair(_new_key("ed25519"))
    return keys


@functools.cache
def _sshd_version() -> tuple[int, int]:
    out = subprocess.run([str(SSHD), "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stderr + out.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _ppid_map() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    return parents


def _tree(root: int) -> set[int]:
    parents = _ppid_map()
    found = {root} if root in parents else set()
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def _marked(marker: bytes) -> set[int]:
    pids: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if marker in Path(entry.path, "environ").read_bytes().split(b"\0"):
                pids.add(int(entry.name))
        except OSError:
            continue
    return pids


def _alive(pids: set[int]) -> set[int]:
    parents = _ppid_map()
    return {pid for pid in pids if pid in parents}


def _signal(pids: set[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


class SshdServer:
    """A real sshd serving several loopback "hosts" (see the module docstring)."""

    def __init__(
        self,
        tmp_dir: Path,
        hosts: Mapping[str, HostBehaviour | None],
        *,
        first_address: int = 2,
        sshd: Path = SSHD,
    ) -> None:
        if first_address < 2 or first_address + len(hosts) > 255:
            raise ValueError("hosts must fit in 127.0.0.2 - 127.0.0.254")
        self.dir = Path(tmp_dir)
        self.sshd = sshd
        self.behaviours: dict[str, HostBehaviour] = {name: b or HostBehaviour() for name, b in hosts.items()}
        self.addresses: dict[str, str] = {
            name: f"127.0.0.{first_address + index}" for index, name in enumerate(hosts)
        }
        self.port = 0
        self.token = secrets.token_hex(8)
        self.known_hosts_file = self.dir / "known_hosts"
        self.authorized_keys_file = self.dir / "authorized_keys"
        self.commands_dir = self.dir / "commands"
        self.user_key_files: dict[str, Path] = {kind: self.dir / f"id_{kind}" for kind in USER_KEY_TYPES}
        self.encrypted_key_file = self.dir / "id_ed25519_encrypted"
        self.stranger_key_file = self.dir / "id_stranger"
        served = [name for name, b in self.behaviours.items() if b.listening and not b.silent]
        # one sshd listens on at most 16 sockets (OpenSSH's MAX_LISTEN_SOCKS): one sshd per 16 hosts
        self._groups = [served[i : i + _PER_SSHD] for i in range(0, len(served), _PER_SSHD)] or [[]]
        self.config_files = [self.dir / f"sshd_config.{n}" for n in range(len(self._groups))]
        self.log_files = [self.dir / f"sshd.{n}.log" for n in range(len(self._groups))]
        self._processes: list[subprocess.Popen[bytes]] = []
        self._silent: list[socket.socket] = []

    # ----------------------------------------------------------------- facts for the tests

    @property
    def user_key_file(self) -> Path:
        """The default (ed25519) user key, authorized for root."""
        return self.user_key_files["ed25519"]

    @property
    def host_fingerprints(self) -> dict[str, str]:
        """SHA256 fingerprints of the server's host keys by type (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa)."""
        return {pair.key_type: pair.fingerprint for pair in self._host_keys()}

    @property
    def impostor_fingerprint(self) -> str:
        """Fingerprint of a host key the server does NOT have (for changed-key tests)."""
        return _key_material()["impostor-host"].fingerprint

    def user_key_fingerprint(self, kind: str) -> str:
        """Fingerprint of a generated user key ("ed25519", "ecdsa", "rsa", "encrypted", "stranger")."""
        name = "stranger" if kind == "stranger" else f"user-{kind}"
        return _key_material()[name].fingerprint

    def address(self, name: str) -> str:
        """The loopback address of host `name`."""
        return self.addresses[name]

    def known_hosts_lines(
        self,
        name: str,
        *,
        key_types: tuple[str, ...] = HOST_KEY_TYPES,
        hashed: bool = False,
        impostor: bool = False,
        with_port: bool = True,
    ) -> list[str]:
        """known_hosts lines for host `name`: its real keys, or an impostor key (`impostor=True`)."""
        host = f"[{self.addresses[name]}]:{self.port}" if with_port else self.addresses[name]
        if hashed:
            salt = os.urandom(20)
            digest = hmac.new(salt, host.encode(), hashlib.sha1).digest()
            host = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
        pairs = (
            [_key_material()["impostor-host"]]
            if impostor
            else [pair for pair in self._host_keys() if pair.key_type in key_types]
        )
        return [f"{host} {pair.public_line}" for pair in pairs]

    def write_known_hosts(self, file_name: str, lines: list[str]) -> Path:
        """Write a known_hosts file in the server's dir and return its path."""
        path = self.dir / file_name
        path.write_text("".join(f"{line}\n" for line in lines))
        return path

    def host_entry(self, name: str, **overrides: Any) -> HostEntry:
        """A `[[hosts]]` entry reaching host `name` as root with the ed25519 key, strict known_hosts."""
        values: dict[str, Any] = {
            "name": name,
            "address": self.addresses[name],
            "port": self.port,
            "user": "root",
            "key_file": self.user_key_file,
            "known_hosts": self.known_hosts_file,
            "os": "linux",
            "connect_timeout_seconds": 5.0,
            "command_timeout_seconds": 30.0,
        }
        values.update(overrides)
        return HostEntry(**values)

    def commands_received(self, name: str) -> list[str]:
        """Every command line host `name` was asked to run, in order."""
        path = self.commands_dir / self.addresses[name]
        if not path.exists():
            return []
        return [part for part in path.read_bytes().decode("utf-8", "replace").split("\0") if part]

    def connections(self, name: str) -> int:
        """How many TCP connections sshd logged for host `name`'s address."""
        needle = f" on {self.addresses[name]} port {self.port}"
        text = self.log_text()
        return sum(1 for line in text.splitlines() if line.startswith("Connection from") and needle in line)

    def logins(self, name: str) -> int:
        """How many successful logins sshd logged on host `name`'s address."""
        address, count = self.addresses[name], 0
        for path in self.log_files:
            if not path.exists():
                continue
            local_of: dict[str, str] = {}  # client port -> local address of its (latest) connection
            for line in path.read_text(errors="replace").splitlines():
                if match := re.match(r"Connection from \S+ port (\d+) on (\S+) port ", line):
                    local_of[match.group(1)] = match.group(2)
                elif match := re.match(r"Accepted \S+ for \S+ from \S+ port (\d+) ", line):
                    count += local_of.get(match.group(1)) == address
        return count

    def log_text(self) -> str:
        """sshd's log so far (every sshd process's, one after the other)."""
        return "".join(path.read_text(errors="replace") for path in self.log_files if path.exists())

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> SshdServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> SshdServer:
        """Write keys and config, start sshd, and return once every listening address accepts."""
        if not (self.sshd.is_file() and os.access(self.sshd, os.X_OK)):
            raise SshdMissing(f"OpenSSH sshd not found at {self.sshd}: {_INSTALL_HINT}")
        if os.geteuid() != 0:
            raise SshdMissing(f"the sshd test harness runs sshd as root, but this is uid {os.geteuid()}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.commands_dir.mkdir(exist_ok=True)
        privsep = Path("/run/sshd")
        if not privsep.is_dir():
            privsep.mkdir(mode=0o755, parents=True)
        self._write_keys()
        last_error = ""
        for _ in range(5):
            self.port = free_port("0.0.0.0")
            self.known_hosts_file.write_text(
                "".join(f"{line}\n" for name in self.addresses for line in self.known_hosts_lines(name))
            )
            for index, (group, config) in enumerate(zip(self._groups, self.config_files, strict=True)):
                config.write_text(self._config(group, index))
            try:
                self._open_silent_sockets()
            except OSError as exc:
                last_error = f"port {self.port}: {exc}"
                self._close_silent_sockets()
                continue
            for config, log in zip(self.config_files, self.log_files, strict=True):
                log.write_text("")
                command = [str(self.sshd), "-D", "-f", str(config), "-E", str(log)]
                self._processes.append(
                    subprocess.Popen(
                        [sys.executable, "-S", "-c", _REAPER, *command],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
            last_error = self._wait_listening()
            if not last_error:
                return self
            self.stop()
        raise RuntimeError(f"sshd did not start: {last_error}")

    def stop(self) -> None:
        """Kill sshd, every connection and every session process it started (idempotent)."""
        self._close_silent_sockets()
        processes, self._processes = self._processes, []
        if not processes:
            return
        reapers = {process.pid for process in processes}  # left alive to reap the rest, then they exit
        frozen: set[int] = set(reapers)
        while True:  # freeze the whole trees first, so nothing can fork or be reparented away
            tree = set().union(*(_tree(pid) for pid in reapers)) - frozen
            if not tree:
                break
            _signal(tree, signal.SIGSTOP)
            frozen |= tree
        frozen -= reapers
        marker = f"AUDIT_SSHD_HARNESS={self.token}".encode()
        victims = frozen | _marked(marker)
        _signal(victims, signal.SIGKILL)
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = _alive(victims) | _marked(marker)
            if not left:
                return
            _signal(left, signal.SIGKILL)
            time.sleep(0.01)
        raise RuntimeError(f"processes of the test sshd survived stop(): {sorted(_alive(victims))}")

    def leftover_processes(self) -> set[int]:
        """Running (non-zombie) session processes started by this server (empty after stop())."""
        return _alive(_marked(f"AUDIT_SSHD_HARNESS={self.token}".encode()))

    # ----------------------------------------------------------------- internals

    def _host_keys(self) -> list[_KeyPair]:
        material = _key_material()
        return [material[f"host-{kind}"] for kind in USER_KEY_TYPES]

    def _write_keys(self) -> None:
        material = _key_material()
        for kind in USER_KEY_TYPES:
            _write_private(self.dir / f"ssh_host_{kind}_key", material[f"host-{kind}"].private_openssh)
            _write_private(self.user_key_files[kind], material[f"user-{kind}"].private_openssh)
        _write_private(self.encrypted_key_file, material["user-encrypted"].private_openssh)
        _write_private(self.stranger_key_file, material["stranger"].private_openssh)
        authorized = [material[f"user-{kind}"].public_line for kind in USER_KEY_TYPES]
        authorized.append(material["user-encrypted"].public_line)
        self.authorized_keys_file.write_text("".join(f"{line} audit-test\n" for line in authorized))

    def _config(self, group: list[str], index: int) -> str:
        lines = [f"ListenAddress {self.addresses[name]}:{self.port}" for name in group]
        lines += [f"HostKey {self.dir / f'ssh_host_{kind}_key'}" for kind in USER_KEY_TYPES]
        lines += [
            f"PidFile {self.dir / f'sshd.{index}.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys_file}",
            "StrictModes no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "AllowTcpForwarding yes",
            "X11Forwarding no",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            "LogLevel VERBOSE",
            "MaxStartups 512",
            "MaxSessions 64",
            "LoginGraceTime 30",
            # SHLVL=1 keeps Debian's bash from sourcing root's ~/.bashrc for every command (it does for
            # ssh sessions at shell level 1; here that file runs `pyenv init`, ~85 ms a command)
            f"SetEnv AUDIT_SSHD_HARNESS={self.token} SHLVL=1",
            "Subsystem sftp internal-sftp",
        ]
        if _sshd_version() >= (9, 8):
            lines.append("PerSourcePenalties no")  # tests fail logins on purpose; do not lock 127.0.0.1 out
        for name in group:
            behaviour = self.behaviours[name]
            address = self.addresses[name]
            record = (
                f"printf '%s\\0' \"$SSH_ORIGINAL_COMMAND\" >> {shlex.quote(str(self.commands_dir / address))}"
            )
            exports = "".join(f"export {key}={shlex.quote(value)}; " for key, value in behaviour.env.items())
            body = behaviour.command if behaviour.command is not None else 'eval "$SSH_ORIGINAL_COMMAND"'
            if "\n" in body or "#" in record + exports + body:
                raise ValueError(f"{name}: a ForceCommand must be one line without '#'")
            lines.append(f"Match LocalAddress {address}")
            if behaviour.log_level:
                lines.append(f"  LogLevel {behaviour.log_level}")
            lines.append(f"  ForceCommand {record}; {exports}{body}")
        return "".join(f"{line}\n" for line in lines)

    def _open_silent_sockets(self) -> None:
        for name, behaviour in self.behaviours.items():
            if behaviour.silent:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.addresses[name], self.port))
                sock.listen(64)
                self._silent.append(sock)

    def _close_silent_sockets(self) -> None:
        for sock in self._silent:
            sock.close()
        self._silent.clear()

    def _wait_listening(self) -> str:
        expected = {self.addresses[name] for group in self._groups for name in group}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log = self.log_text()
            if "Bind to port" in log or "Cannot bind" in log:
                return f"port {self.port} is taken: {log.strip()}"
            listening = set(re.findall(rf"Server listening on (\S+) port {self.port}\.", log))
            if expected <= listening:
                return ""
            for process in self._processes:
                if process.poll() is not None:
                    return f"sshd exited with {process.returncode}: {log.strip()}"
            time.sleep(0.005)
        return f"sshd did not listen on every address within 10 s: {self.log_text().strip()}"


_REAPER = """
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphaned sessions come back to us
child = os.fork()
if child == 0:
    os.execv(sys.argv[1], sys.argv[1:])
code = 0
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    if pid == child:
        code = os.waitstatus_to_exitcode(status)
sys.exit(code)
"""
"""Runs sshd below a child subreaper that reaps every process of the tree (this machine's PID 1
may not reap orphans, which would leave zombies behind), and exits when the last one is gone."""


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def hosts_toml(entries: list[Any]) -> str:
    """Return `[[hosts]]` tables of audit.toml for HostEntry objects (as `SshdServer.host_entry` builds them)."""
    out = []
    for entry in entries:
        values = entry.model_dump(exclude_none=True, exclude_defaults=False)
        lines = ["[[hosts]]"]
        for key, value in values.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int | float):
                lines.append(f"{key} = {value}")
            elif isinstance(value, list):
                lines.append(f"{key} = {json.dumps([str(v) for v in value])}")
            else:
                lines.append(f"{key} = {json.dumps(str(value))}")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"
