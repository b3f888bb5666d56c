"""The SSH layer: one verified, authenticated paramiko connection per host, reused for every command.

`open_session(host, resolve=..., max_output_bytes=...)` connects, checks the host key *before*
anything else is sent, logs in, and returns an `SshSession` (a `CommandRunner`). Every failure is a
`HostError` subclass whose message names the host, so the collector can turn that host's items into
`error` and carry on with the others.

Decisions (documented for operators and auditors):

* **Host identity.** The server's key is checked against `host.known_hosts` (`~` expanded, relative
  paths resolved against the config file; plain, `[addr]:port`, hashed `|1|` and wildcard entries,
  `@revoked` honoured, `@cert-authority` lines ignored: host certificates are not accepted). The host
  is looked up by `address` (as `[address]:port` when the port is not 22), exactly as OpenSSH does.
  A pinned `host_key_sha256` must match the offered key; a matching pin is enough on its own when
  known_hosts has no entry for the host (the file may even be absent), but when known_hosts does have
  entries for the host, the offered key must be among them too (both sources must agree; fail closed).
  Unknown key -> `HostKeyUnknown`; a key other than the one(s) on record -> `HostKeyChanged`. In both
  cases the connection is closed before authentication: no credential and no command is sent.
* **Authentication.** `key_file` (ed25519, ECDSA or RSA, OpenSSH or PEM format; its passphrase from the
  environment variable named by `passphrase_env`) when set, otherwise the keys of the SSH agent
  (`SSH_AUTH_SOCK`). There is no search of default key files (`~/.ssh/id_*`): the audit identity is
  always explicit. A password is tried only when `password_env` is set (after the key, if any).
  Secrets never appear in messages or logs: only file paths, variable names and key fingerprints.
* **Timeouts.** `connect_timeout_seconds` bounds the TCP connect, the SSH banner, key exchange and
  each authentication step; a command's timeout is `run(timeout=...)` or `command_timeout_seconds`.
* **Output.** stdout and stderr are read concurrently (neither pipe can stall the other); both
  together are capped at `max_output_bytes` per command: past it the channel is closed and
  `OutputTooLarge` raised. A command that ends without an exit status (killed by a signal, dropped
  connection) raises `HostOutputError`.
* **Jump hosts.** `open_session(target, via=bastion_session)` opens a `direct-tcpip` channel on the
  bastion's connection and runs the target's SSH connection inside it; host keys of both are checked.

One module of ~680 lines: the decisions above are one contract, kept beside the code that enforces
them on one paramiko transport (the key checked before authentication, a jump host's channel
carrying the next transport). Reading known_hosts (`known_host_keys` and its pattern matching) is
the part that could stand on its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import paramiko
from paramiko.pkey import UnknownKeyType

from collectors.config.inventory import HostEntry
from collectors.hosts.commands import CommandResult, HostError, HostOutputError
from collectors.messages import Reason, comma_list, english_text
from reports.evidence import msg

__all__ = [
    "AuthFailed",
    "CommandTimeout",
    "HostKeyChanged",
    "HostKeyUnknown",
    "HostUnreachable",
    "KnownHostKey",
    "OutputTooLarge",
    "SessionFailed",
    "SshSession",
    "fingerprint",
    "known_host_keys",
    "known_hosts_name",
    "open_session",
]

log = logging.getLogger(__name__)

_READ_CHUNK = 65536


class HostKeyUnknown(HostError):
    """The host offered a key that is neither in known_hosts nor pinned: nothing was sent."""


class HostKeyChanged(HostError):
    """The host offered a key other than the one on record (known_hosts or pin): nothing was sent."""


class AuthFailed(HostError):
    """The host refused every credential offered (or a credential could not be loaded)."""


class HostUnreachable(HostError):
    """No SSH connection could be established: refused, no route, timeout, no SSH on the port."""


class SessionFailed(HostError):
    """The connection broke after login: a channel was refused or the connection was lost."""


class CommandTimeout(HostError):
    """The command did not finish within its timeout; its channel was closed."""


class OutputTooLarge(HostError):
    """The command wrote more than `max_output_bytes`; reading stopped and its channel was closed."""


def fingerprint(key: paramiko.PKey | bytes) -> str:
    """Return the OpenSSH SHA256 fingerprint (`SHA256:...`, unpadded base64) of a public key."""
    blob = key if isinstance(key, bytes) else key.asbytes()
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


def known_hosts_name(address: str, port: int) -> str:
    """Return the name OpenSSH looks up in known_hosts: `addr` on port 22, else `[addr]:port`."""
    return address if port == 22 else f"[{address}]:{port}"


@dataclass(frozen=True)
class KnownHostKey:
    """A known_hosts entry that matches a host."""

    key_type: str
    blob: bytes
    line: int
    revoked: bool = False

    @property
    def fingerprint(self) -> str:
        """The entry's SHA256 fingerprint."""
        return fingerprint(self.blob)


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        parts = pattern.split("|")
        if len(parts) != 4:
            return False
        try:
            salt = base64.b64decode(parts[2], validate=True)
            expected = base64.b64decode(parts[3], validate=True)
        except (binascii.Error, ValueError):
            return False
        actual = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
        return hmac.compare_digest(actual, expected)
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern.lower()
    )
    return re.fullmatch(regex, name.lower()) is not None


def _host_matches(patterns: str, name: str) -> bool:
    """OpenSSH semantics: any negated match excludes the host, else any positive match includes it."""
    if patterns.startswith("|1|"):
        return _pattern_matches(patterns, name)
    matched = False
    for pattern in patterns.split(","):
        if pattern.startswith("!"):
            if _pattern_matches(pattern[1:], name):
                return False
        elif pattern and _pattern_matches(pattern, name):
            matched = True
    return matched


def _blob_type(blob: bytes) -> str | None:
    if len(blob) < 4:
        return None
    length = int.from_bytes(blob[:4], "big")
    if length > len(blob) - 4:
        return None
    try:
        return blob[4 : 4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


def known_host_keys(path: Path, name: str) -> list[KnownHostKey]:
    """Return the keys `path` (a known_hosts file) lists for `name`, including `@revoked` ones.

    Lines that cannot be parsed and `@cert-authority` lines are skipped. Raises OSError when the
    file cannot be read.
    """
    found: list[KnownHostKey] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        revoked = False
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
            if marker == "@revoked":
                revoked = True
            else:
                continue
        fields = line.split()
        if len(fields) < 3:
            continue
        patterns, key_type, encoded = fields[0], fields[1], fields[2]
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if _blob_type(blob) != key_type or not _host_matches(patterns, name):
            continue
        found.append(KnownHostKey(key_type=key_type, blob=blob, line=number, revoked=revoked))
    return found


def _algorithms_for(key_type: str) -> tuple[str, ...]:
    return ("rsa-sha2-512", "rsa-sha2-256") if key_type == "ssh-rsa" else (key_type,)


def _seconds(value: float) -> str:
    """Return a timeout as messages write it: `5`, `0.5` (a number of seconds, shown as configured)."""
    return f"{value:g}"


def _describe(host: HostEntry) -> str:
    return f"{host.name} ({host.user}@{known_hosts_name(host.address, host.port)})"


def _expand(path: Path, resolve: Callable[[Path], Path]) -> Path:
    return resolve(path.expanduser())


@dataclass(frozen=True)
class _HostKeyPolicy:
    """What the client will accept for one host, worked out before connecting."""

    file: Path
    name: str
    entries: tuple[KnownHostKey, ...]
    file_problem: Reason | None
    pin: str | None

    @classmethod
    def for_host(cls, host: HostEntry, resolve: Callable[[Path], Path]) -> _HostKeyPolicy:
        file = _expand(host.known_hosts, resolve)
        name = known_hosts_name(host.address, host.port)
        problem: Reason | None = None
        entries: list[KnownHostKey] = []
        try:
            entries = known_host_keys(file, name)
        except FileNotFoundError:
            problem = msg("does not exist")
        except OSError as exc:
            problem = msg("cannot be read ({error})", error=str(exc.strerror or exc))
        return cls(
            file=file, name=name, entries=tuple(entries), file_problem=problem, pin=host.host_key_sha256
        )

    def preferred_algorithms(self, available: tuple[str, ...]) -> tuple[str, ...]:
        """Put the algorithms of keys on record first, so the server offers a key we can compare."""
        known = {
            algorithm
            for entry in self.entries
            if not entry.revoked
            for algorithm in _algorithms_for(entry.key_type)
        }
        return tuple(a for a in available if a in known) + tuple(a for a in available if a not in known)

    def check(self, host: HostEntry, offered: paramiko.PKey) -> None:
        """Raise HostKeyUnknown / HostKeyChanged unless `offered` is the host's key on record."""
        offered_fp = fingerprint(offered)
        offered_type = offered.get_name()
        blob = offered.asbytes()
        where = f"{self.file}"
        for entry in self.entries:
            if entry.revoked and entry.blob == blob:
                raise HostKeyChanged(
                    msg(
                        "{host}: the host offered {key_type} {fingerprint}, which {file} line {line} marks "
                        "@revoked; connection closed, no command was sent",
                        host=_describe(host),
                        key_type=offered_type,
                        fingerprint=offered_fp,
                        file=where,
                        line=entry.line,
                    )
                )
        on_record = [entry for entry in self.entries if not entry.revoked]
        if self.pin is not None and offered_fp != self.pin:
            raise HostKeyChanged(
                msg(
                    "{host}: host key mismatch: host_key_sha256 pins {pin}, the host offered {key_type} "
                    "{fingerprint}; possible man-in-the-middle or a reinstalled host; connection closed, "
                    "no command was sent",
                    host=_describe(host),
                    pin=self.pin,
                    key_type=offered_type,
                    fingerprint=offered_fp,
                )
            )
        if on_record:
            if any(entry.blob == blob for entry in on_record):
                return
            expected = comma_list(
                [
                    msg(
                        "{key_type} {fingerprint} (line {line})",
                        key_type=e.key_type,
                        fingerprint=e.fingerprint,
                        line=e.line,
                    )
                    for e in on_record
                ]
            )
            raise HostKeyChanged(
                msg(
                    "{host}: host key changed: {file} has {expected} for {name}, the host offered {key_type} "
                    "{fingerprint}; possible man-in-the-middle or a reinstalled host; connection closed, "
                    "no command was sent",
                    host=_describe(host),
                    file=where,
                    expected=expected,
                    name=self.name,
                    key_type=offered_type,
                    fingerprint=offered_fp,
                )
            )
        if self.pin is not None:
            return
        state = (
            msg("{file} {problem}", file=where, problem=self.file_problem)
            if self.file_problem
            else msg("{file} has no entry for {name}", file=where, name=self.name)
        )
        raise HostKeyUnknown(
            msg(
                "{host}: unknown host key {key_type} {fingerprint} ({state}); verify the fingerprint with "
                "the host's administrator, then add it to known_hosts or pin it as host_key_sha256; "
                "connection closed, no command was sent",
                host=_describe(host),
                key_type=offered_type,
                fingerprint=offered_fp,
                state=state,
            )
        )


@dataclass(frozen=True)
class _Credentials:
    keys: tuple[tuple[paramiko.PKey, Reason], ...]
    """(key, description without secrets) in the order they are offered."""
    password: str | None
    password_source: Reason | None
    agent: paramiko.Agent | None


def _load_key(path: Path, passphrase: str | None, passphrase_env: str | None, who: str) -> paramiko.PKey:
    """Load an ed25519, ECDSA or RSA private key; errors name the file and variable, never the secret."""
    # bytes: paramiko 5 hands the password to cryptography, which refuses str
    secret = passphrase.encode() if passphrase is not None else None
    try:
        return paramiko.PKey.from_path(path, password=secret)  # type: ignore[arg-type]
    except FileNotFoundError:
        raise AuthFailed(msg("{host}: key_file {path} does not exist", host=who, path=str(path))) from None
    except UnknownKeyType:
        raise AuthFailed(
            msg(
                "{host}: key_file {path} is not an ed25519, ECDSA or RSA private key",
                host=who,
                path=str(path),
            )
        ) from None
    except (paramiko.SSHException, ValueError, TypeError) as exc:
        if passphrase is None and isinstance(exc, (paramiko.PasswordRequiredException, TypeError)):
            raise AuthFailed(
                msg(
                    "{host}: key_file {path} is encrypted; name the environment variable holding its "
                    "passphrase with passphrase_env",
                    host=who,
                    path=str(path),
                )
            ) from None
        if passphrase is not None:
            raise AuthFailed(
                msg(
                    "{host}: key_file {path} cannot be loaded (wrong passphrase in ${variable}?)",
                    host=who,
                    path=str(path),
                    variable=passphrase_env,
                )
            ) from None
        raise AuthFailed(msg("{host}: key_file {path} cannot be loaded", host=who, path=str(path))) from None
    except OSError as exc:
        raise AuthFailed(
            msg(
                "{host}: key_file {path} cannot be read ({error})",
                host=who,
                path=str(path),
                error=str(exc.strerror or exc),
            )
        ) from None


def _load_credentials(host: HostEntry, resolve: Callable[[Path], Path]) -> _Credentials:
    who = _describe(host)
    keys: list[tuple[paramiko.PKey, Reason]] = []
    agent: paramiko.Agent | None = None
    if host.key_file is not None:
        path = _expand(host.key_file, resolve)
        passphrase: str | None = None
        if host.passphrase_env is not None:
            passphrase = os.environ.get(host.passphrase_env)
            if passphrase is None:
                raise AuthFailed(
                    msg(
                        "{host}: passphrase_env names ${variable}, which is not set in the environment",
                        host=who,
                        variable=host.passphrase_env,
                    )
                )
        key = _load_key(path, passphrase, host.passphrase_env, who)
        keys.append(
            (
                key,
                msg(
                    "key_file {path} ({key_type} {fingerprint})",
                    path=str(path),
                    key_type=key.get_name(),
                    fingerprint=fingerprint(key),
                ),
            )
        )
    else:
        if os.environ.get("SSH_AUTH_SOCK"):
            try:
                agent = paramiko.Agent()
                for agent_key in agent.get_keys():
                    described = msg(
                        "agent key {key_type} {fingerprint}",
                        key_type=agent_key.get_name(),
                        fingerprint=fingerprint(agent_key),
                    )
                    keys.append((agent_key, described))
            except paramiko.SSHException as exc:
                log.debug("%s: SSH agent unusable: %s", who, exc)
    password: str | None = None
    if host.password_env is not None:
        password = os.environ.get(host.password_env)
        if password is None:
            if agent is not None:
                agent.close()
            raise AuthFailed(
                msg(
                    "{host}: password_env names ${variable}, which is not set in the environment",
                    host=who,
                    variable=host.password_env,
                )
            )
    if not keys and password is None:
        if agent is not None:
            agent.close()
        raise AuthFailed(
            msg(
                "{host}: no credential: no key_file is configured and the SSH agent offers no key ({why})",
                host=who,
                why=msg("agent has no keys")
                if os.environ.get("SSH_AUTH_SOCK")
                else msg("SSH_AUTH_SOCK is not set"),
            )
        )
    return _Credentials(
        keys=tuple(keys),
        password=password,
        password_source=msg("password from ${variable}", variable=host.password_env)
        if host.password_env
        else None,
        agent=agent,
    )


def _authenticate(transport: paramiko.Transport, host: HostEntry, credentials: _Credentials) -> Reason:
    """Log in with the first credential the server accepts; return how (no secrets)."""
    tried: list[Reason] = []
    allowed: list[str] | None = None
    for key, description in credentials.keys:
        try:
            remaining = transport.auth_publickey(host.user, key)
        except paramiko.BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
            tried.append(msg("{credential}: publickey not allowed", credential=description))
            break
        except paramiko.AuthenticationException as exc:
            tried.append(msg("{credential}: {error}", credential=description, error=str(exc)))
            continue
        if transport.is_authenticated():
            return description
        tried.append(
            msg(
                "{credential}: accepted but the server requires more ({methods})",
                credential=description,
                methods=list(remaining),
            )
        )
    if credentials.password is not None and credentials.password_source is not None:
        try:
            remaining = transport.auth_password(host.user, credentials.password)
        except paramiko.BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
            tried.append(
                msg(
                    "{credential}: password authentication not allowed",
                    credential=credentials.password_source,
                )
            )
        except paramiko.AuthenticationException as exc:
            tried.append(msg("{credential}: {error}", credential=credentials.password_source, error=str(exc)))
        else:
            if transport.is_authenticated():
                return credentials.password_source
            tried.append(
                msg(
                    "{credential}: the server requires more ({methods})",
                    credential=credentials.password_source,
                    methods=list(remaining),
                )
            )
    if allowed:
        raise AuthFailed(
            msg(
                "{host}: authentication failed as {user}: {tried}; the server allows {methods}",
                host=_describe(host),
                user=repr(host.user),
                tried=tried,
                methods=allowed,
            )
        )
    raise AuthFailed(
        msg(
            "{host}: authentication failed as {user}: {tried}",
            host=_describe(host),
            user=repr(host.user),
            tried=tried,
        )
    )


class SshSession:
    """One authenticated SSH connection to a host; runs commands over it (a `CommandRunner`).

    Thread-safe: several commands may run concurrently on one session (one channel each).
    """

    def __init__(
        self,
        host: HostEntry,
        transport: paramiko.Transport,
        *,
        max_output_bytes: int,
        host_key_fingerprint: str,
        authenticated_with: str,
        via: SshSession | None,
    ) -> None:
        self.host = host
        self._transport = transport
        self.max_output_bytes = max_output_bytes
        self.host_key_fingerprint = host_key_fingerprint
        """The host key's OpenSSH SHA256 fingerprint, as verified."""
        self.authenticated_with = authenticated_with
        """How the login succeeded (key file and fingerprint, agent key, or password variable)."""
        self.via = via
        self._lock = threading.Lock()
        self._closed = False
        self.logins = 1
        """Logins made for this session: always 1 (the connection is reused for every command)."""
        self.round_trips = 0
        """Commands run on this session."""
        self.tunnels = 0
        """direct-tcpip channels opened through this session (as a bastion)."""

    def __enter__(self) -> SshSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SshSession({_describe(self.host)}, round_trips={self.round_trips}, closed={self._closed})"

    @property
    def closed(self) -> bool:
        """True once `close()` was called or the connection dropped."""
        return self._closed or not self._transport.is_active()

    def close(self) -> None:
        """Close the connection (idempotent). A bastion's own session is not closed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._transport.close()

    def open_tunnel(self, address: str, port: int, timeout: float) -> paramiko.Channel:
        """Open a `direct-tcpip` channel from this host to `address:port` (this host as a bastion)."""
        channel = self._transport.open_channel(
            "direct-tcpip", dest_addr=(address, port), src_addr=("127.0.0.1", 0), timeout=timeout
        )
        with self._lock:
            self.tunnels += 1
        return channel

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> CommandResult:
        """Run `command`, feed it `stdin` (then EOF), and return its exit code, stdout and stderr.

        Raises CommandTimeout, OutputTooLarge, HostOutputError (no exit status) or SessionFailed.
        """
        limit = self.host.command_timeout_seconds if timeout is None else timeout
        who = _describe(self.host)
        if self._closed:
            raise SessionFailed(msg("{host}: the SSH session was already closed", host=who))
        with self._lock:
            self.round_trips += 1
        deadline = time.monotonic() + limit
        try:
            channel = self._transport.open_session(timeout=min(limit, self.host.connect_timeout_seconds))
        except paramiko.ChannelException as exc:
            raise SessionFailed(
                msg("{host}: the server refused a session channel: {error}", host=who, error=str(exc))
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SessionFailed(
                msg(
                    "{host}: the SSH connection was lost: {error}",
                    host=who,
                    error=str(exc or type(exc).__name__),
                )
            ) from None
        try:
            return self._exchange(channel, command, stdin, deadline, limit, who)
        finally:
            channel.close()

    def _exchange(
        self,
        channel: paramiko.Channel,
        command: str,
        stdin: bytes | None,
        deadline: float,
        limit: float,
        who: str,
    ) -> CommandResult:
        short = command if len(command) <= 60 else command[:57] + "..."
        try:
            channel.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SessionFailed(
                msg(
                    "{host}: could not start the command: {error}",
                    host=who,
                    error=str(exc or type(exc).__name__),
                )
            ) from None
        writer = _StdinWriter(channel, stdin)
        stdout = bytearray()
        stderr = bytearray()
        channel.fileno()  # a pipe that select() sees when stdout or stderr has data, or at EOF/close
        while True:
            self._drain(channel, stdout, stderr, who)
            if channel.eof_received or channel.closed:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CommandTimeout(
                    msg(
                        "{host}: command timed out after {seconds} s (channel closed): {command}",
                        host=who,
                        seconds=_seconds(limit),
                        command=short,
                    )
                )
            select.select([channel], [], [], min(remaining, 1.0))
        remaining = deadline - time.monotonic()
        if not channel.status_event.wait(max(remaining, 0.0)):
            raise CommandTimeout(
                msg(
                    "{host}: command closed its output but did not exit within {seconds} s (channel closed): "
                    "{command}",
                    host=who,
                    seconds=_seconds(limit),
                    command=short,
                )
            )
        self._drain(channel, stdout, stderr, who)
        writer.join()
        if channel.exit_status == -1:
            if not self._transport.is_active():
                raise SessionFailed(
                    msg(
                        "{host}: the SSH connection was lost while the command ran: {command}",
                        host=who,
                        command=short,
                    )
                )
            raise HostOutputError(
                msg(
                    "{host}: the command ended without an exit status (killed by a signal?): {command}",
                    host=who,
                    command=short,
                )
            )
        return CommandResult(exit_code=channel.exit_status, stdout=bytes(stdout), stderr=bytes(stderr))

    def _drain(self, channel: paramiko.Channel, stdout: bytearray, stderr: bytearray, who: str) -> None:
        while True:
            progressed = False
            if channel.recv_ready():
                stdout += channel.recv(_READ_CHUNK)
                progressed = True
            if channel.recv_stderr_ready():
                stderr += channel.recv_stderr(_READ_CHUNK)
                progressed = True
            if len(stdout) + len(stderr) > self.max_output_bytes:
                raise OutputTooLarge(
                    msg(
                        "{host}: output exceeds max_output_bytes = {limit} (read {stdout} bytes of stdout and "
                        "{stderr} of stderr so far); stopped reading and closed the channel",
                        host=who,
                        limit=self.max_output_bytes,
                        stdout=len(stdout),
                        stderr=len(stderr),
                    )
                )
            if not progressed:
                return


class _StdinWriter:
    """Feeds stdin on its own thread, so a command that writes before it reads cannot deadlock us."""

    def __init__(self, channel: paramiko.Channel, data: bytes | None) -> None:
        self._thread: threading.Thread | None = None
        if not data:
            channel.shutdown_write()
            return
        self._thread = threading.Thread(target=self._write, args=(channel, data), daemon=True)
        self._thread.start()

    @staticmethod
    def _write(channel: paramiko.Channel, data: bytes) -> None:
        try:
            channel.sendall(data)
            channel.shutdown_write()
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the command stopped reading or the channel closed: its exit code tells the rest

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=1.0)


def _connect_socket(host: HostEntry, via: SshSession | None) -> socket.socket | paramiko.Channel:
    who = _describe(host)
    timeout = host.connect_timeout_seconds
    if via is not None:
        try:
            return via.open_tunnel(host.address, host.port, timeout)
        except paramiko.ChannelException as exc:
            raise HostUnreachable(
                msg(
                    "{host}: jump host {jump} could not connect to {address}:{port}: {error}",
                    host=who,
                    jump=via.host.name,
                    address=host.address,
                    port=host.port,
                    error=str(exc),
                )
            ) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise HostUnreachable(
                msg(
                    "{host}: jump host {jump} could not open a tunnel: {error}",
                    host=who,
                    jump=via.host.name,
                    error=str(exc or type(exc).__name__),
                )
            ) from None
    try:
        sock = socket.create_connection((host.address, host.port), timeout=timeout)
    except TimeoutError:
        raise HostUnreachable(
            msg(
                "{host}: no TCP connection within {seconds} s (connect timeout)",
                host=who,
                seconds=_seconds(timeout),
            )
        ) from None
    except ConnectionRefusedError:
        raise HostUnreachable(
            msg("{host}: connection refused (nothing listens on port {port})", host=who, port=host.port)
        ) from None
    except OSError as exc:
        raise HostUnreachable(
            msg("{host}: cannot connect: {error}", host=who, error=str(exc.strerror or exc))
        ) from None
    # small SSH packets (exec request, then EOF) must not wait for delayed ACKs: ~40 ms a command
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _start_transport(
    host: HostEntry, sock: socket.socket | paramiko.Channel, policy: _HostKeyPolicy
) -> paramiko.Transport:
    who = _describe(host)
    timeout = host.connect_timeout_seconds
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    options = transport.get_security_options()
    options.key_types = policy.preferred_algorithms(tuple(options.key_types))
    negotiated = threading.Event()
    try:
        transport.start_client(event=negotiated)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        raise HostUnreachable(
            msg(
                "{host}: no SSH session could be negotiated: {error}",
                host=who,
                error=str(exc or type(exc).__name__),
            )
        ) from None
    if not negotiated.wait(timeout):
        transport.close()
        raise HostUnreachable(
            msg(
                "{host}: no SSH handshake within {seconds} s (connect timeout)",
                host=who,
                seconds=_seconds(timeout),
            )
        )
    if not transport.is_active():
        problem = transport.get_exception()
        transport.close()
        detail: Reason = (
            str(problem) if problem is not None and str(problem) else msg("the connection closed")
        )
        raise HostUnreachable(
            msg("{host}: no SSH session could be negotiated: {error}", host=who, error=detail)
        )
    return transport


def open_session(
    host: HostEntry,
    *,
    resolve: Callable[[Path], Path],
    via: SshSession | None = None,
    max_output_bytes: int,
) -> SshSession:
    """Connect to `host` (through the bastion session `via`, if given), verify its key, log in.

    `resolve` maps config-relative paths (known_hosts, key_file) to real ones, e.g. `EstateConfig.resolve`.
    Raises HostKeyUnknown, HostKeyChanged, AuthFailed or HostUnreachable, each naming the host.
    """
    policy = _HostKeyPolicy.for_host(host, resolve)
    credentials = _load_credentials(host, resolve)
    who = _describe(host)
    try:
        transport = _start_transport(host, _connect_socket(host, via), policy)
        try:
            offered = fingerprint(transport.get_remote_server_key())
            policy.check(host, transport.get_remote_server_key())
            how = _authenticate(transport, host, credentials)
        except HostError:
            transport.close()
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            transport.close()
            raise HostUnreachable(
                msg(
                    "{host}: the connection failed during login: {error}",
                    host=who,
                    error=str(exc or type(exc).__name__),
                )
            ) from None
    finally:
        if credentials.agent is not None:
            credentials.agent.close()
    log.debug("%s: connected, host key %s, logged in with %s", who, offered, english_text(how))
    return SshSession(
        host,
        transport,
        max_output_bytes=max_output_bytes,
        host_key_fingerprint=offered,
        authenticated_with=english_text(how),
        via=via,
    )
