"""Real TLS servers on loopback for the scanner tests: `openssl s_server` and Debian's nginx.

    ca = trustme.CA()
    with TlsServers(tmp_path) as servers:
        port = servers.openssl(issue_cert(tmp_path, ca, "modern", "localhost"), "-min_protocol", "TLSv1.2")
        site = servers.nginx([NginxSite("modern", files, hsts="max-age=31536000", redirect=True)])["modern"]

`openssl s_server -www` covers protocol, cipher, key exchange (`-dhparam` with `dh_params`) and
certificate cases (it answers HTTP with no extra headers); one nginx process serves the header
cases (HSTS, the plain-HTTP redirect) with a TLS port and a plain-HTTP port per site, or
(`nginx_virtual_hosts`) several SNI names with their own certificates on one port. Certificates
come from a `trustme` CA made by the tests; `issue_cert` signs leaves with that CA's key (any
validity, RSA-1024 too) and `self_signed_cert` makes one no store trusts. `OpensslPki` makes CAs
and leaves with the `openssl` command itself, with exactly the extensions a case names (a leaf
without an Authority Key Identifier, a CA without keyUsage, ...), and `openssl_accepts` asks
`openssl s_client -verify_return_error` what a real TLS client decides about a server. Every
process is started by this harness and stopped by its pid on exit; nothing is left behind.
Missing binaries fail the tests (they never skip): run `bash tests/run.sh` or `apt-get install -y nginx`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from demo.standins.loopback import free_port, free_ports

MODERN_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""Forward-secret AEAD TLS 1.2 suites only."""


@dataclass(frozen=True)
class CertFiles:
    """A leaf certificate (with its chain) and its key, written as PEM files."""

    cert: Path
    key: Path


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 10.0) -> None:
    """Wait until `port` accepts TCP connections; raise with the server's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"server did not listen on {port} within {timeout} s: {log.read_text(errors='replace')}"
    )


def _write(
    folder: Path, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> CertFiles:
    files = CertFiles(folder / f"{name}.crt", folder / f"{name}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


def _leaf_builder(
    host: str, issuer: x509.Name, not_before: datetime | None = None, not_after: datetime | None = None
) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(issuer)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )


def issue_cert(
    folder: Path,
    ca: trustme.CA,
    name: str,
    host: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    rsa_bits: int | None = None,
) -> CertFiles:
    """Return a leaf for `host` signed by the test CA's key, written as `name`.crt/.key.

    trustme's own leaves mark subjectAltName critical beside a non-empty subject, which the
    web-PKI verifier (cryptography, as used by sslyze) rejects, and it makes no RSA key below
    2048 bits: so the leaves are built here (EC P-256, or RSA of `rsa_bits`).
    """
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if rsa_bits is None:
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    builder = _leaf_builder(host, ca_cert.subject, not_before, not_after).public_key(key.public_key())
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
    ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return _write(folder, name, builder.sign(ca_key, hashes.SHA256()), key)


def self_signed_cert(folder: Path, host: str) -> CertFiles:
    """Return a self-signed leaf for `host` (EC P-256), trusted by no store."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = _leaf_builder(host, name).public_key(key.public_key()).sign(key, hashes.SHA256())
    return _write(folder, "self-signed", cert, key)


def spawn(command: list[str], log: Path, *, stdin: int) -> subprocess.Popen[bytes]:
    """Start a stand-in server with its output in `log`; return its process (the caller stops it by pid)."""
    with log.open("wb") as out:
        return subprocess.Popen(command, stdin=stdin, stdout=out, stderr=subprocess.STDOUT)


def nginx_binary() -> str:
    """Return Debian's nginx executable; raise RuntimeError saying how to install it when it is missing.

    The stand-ins serve real TLS with nginx; a missing nginx fails the test, it never skips it.
    """
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        raise RuntimeError("nginx is not installed: run `apt-get install -y nginx` (or `bash tests/run.sh`)")
    return binary


def write_nginx_conf(prefix: Path, servers: str, *, connections: int, types: str = "") -> Path:
    """Write `prefix`/nginx.conf serving `servers` (its `server { ... }` blocks) and return its path.

    nginx runs in the foreground as one worker, with its pid, error log and temporary files under
    `prefix` (the temporary files in `prefix`/tmp, which the caller creates) and no access log, so
    a test's nginx touches nothing outside its folder. `types` maps MIME types to extensions.
    """
    temp = prefix / "tmp"
    mime_types = f"\n    types {{ {types} }}" if types else ""
    config = prefix / "nginx.conf"
    config.write_text(
        f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections {connections}; }}
http {{
    access_log off;{mime_types}
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    {servers}
}}
"""
    )
    return config


def nginx_command(binary: str, prefix: Path, config: Path) -> list[str]:
    """Return the command line that runs nginx on `config` with `prefix` as its home and error log there."""
    return [binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]


@dataclass(frozen=True)
class NginxSite:
    """One nginx site: a TLS port (optionally with HSTS) and a plain-HTTP port (redirecting or not)."""

    name: str
    files: CertFiles
    hsts: str | None = "max-age=31536000"
    redirect: bool = True
    server_name: str = "_"
    """The nginx server_name (the SNI name the site answers to with `nginx_virtual_hosts`)."""


@dataclass(frozen=True)
class NginxPorts:
    """Where an nginx site listens."""

    https: int
    http: int


class TlsServers:
    """Starts real TLS servers for a test and stops every one of them (by pid) on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> TlsServers:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Terminate every server this harness started, then kill any that lingers."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()

    def _spawn(self, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        # stdin stays an open pipe: `openssl s_server` ends when its stdin does.
        process = spawn(command, log, stdin=subprocess.PIPE)
        self.processes.append(process)
        return process

    def openssl(self, files: CertFiles, *options: str) -> int:
        """Start `openssl s_server -www` with `files` and extra options; return its port."""
        binary = shutil.which("openssl")
        if binary is None:
            raise RuntimeError("openssl is not installed: run `bash tests/run.sh`")
        port = free_port()
        log = self.folder / f"s_server.{port}.log"
        command = [binary, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(files.cert)]
        command += ["-key", str(files.key), "-www", "-quiet", *options]
        process = self._spawn(command, log)
        wait_for_port(port, process, log)
        return port

    def nginx(self, sites: list[NginxSite]) -> dict[str, NginxPorts]:
        """Start one nginx (TLS 1.2 + 1.3, forward-secret AEAD suites) serving every site; return ports."""
        numbers = iter(free_ports(2 * len(sites)))
        ports = {site.name: NginxPorts(next(numbers), next(numbers)) for site in sites}
        self._start_nginx([(site, ports[site.name]) for site in sites])
        return ports

    def nginx_virtual_hosts(self, sites: list[NginxSite]) -> NginxPorts:
        """Start one nginx serving every site on one TLS port and one HTTP port, told apart by SNI name.

        Each site answers to its `server_name` with its own certificate; the first site is also
        the default server (what a client without a known SNI name gets).
        """
        https, http = free_ports(2)
        at = NginxPorts(https, http)
        self._start_nginx([(site, at) for site in sites], default_first=True)
        return at

    def _start_nginx(self, sites: list[tuple[NginxSite, NginxPorts]], default_first: bool = False) -> None:
        binary = nginx_binary()
        prefix = self.folder / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        blocks: list[str] = []
        for index, (site, at) in enumerate(sites):
            default = " default_server" if default_first and index == 0 else ""
            hsts = f'add_header Strict-Transport-Security "{site.hsts}" always;' if site.hsts else ""
            plain = (
                f"return 301 https://$host:{at.https}$request_uri;"
                if site.redirect
                else 'return 200 "plain";'
            )
            blocks.append(
                f"""
    server {{
        listen 127.0.0.1:{at.https} ssl{default};
        server_name {site.server_name};
        ssl_certificate {site.files.cert};
        ssl_certificate_key {site.files.key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {MODERN_CIPHERS};
        {hsts}
        location / {{ return 200 "{site.name}"; }}
    }}
    server {{
        listen 127.0.0.1:{at.http}{default};
        server_name {site.server_name};
        location / {{ {plain} }}
    }}"""
            )
        config = write_nginx_conf(prefix, "".join(blocks), connections=512)
        process = self._spawn(nginx_command(binary, prefix, config), prefix / "stdout.log")
        for at in {at for _, at in sites}:
            wait_for_port(at.https, process, prefix / "error.log")
            wait_for_port(at.http, process, prefix / "error.log")


# --- certificates and DH groups made by the openssl command ---------------------------------------

CA_EXTENSIONS = (
    "basicConstraints = critical, CA:TRUE",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
)
"""A CA as `openssl req -x509` makes one for an internal PKI."""


def leaf_extensions(host: str, *extra: str) -> tuple[str, ...]:
    """Return a TLS server leaf's extensions for `host`, then `extra` lines (later lines win)."""
    return (
        "basicConstraints = critical, CA:FALSE",
        f"subjectAltName = DNS:{host}",
        "extendedKeyUsage = serverAuth",
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid",
        *extra,
    )


def _openssl(*arguments: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("openssl is not installed: run `bash tests/run.sh`")
    done = subprocess.run([binary, *arguments], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(arguments)}: {done.stderr.strip()}")


def _extension_file(path: Path, lines: tuple[str, ...]) -> Path:
    chosen: dict[str, str] = {}
    for line in lines:
        key, value = (part.strip() for part in line.split("=", 1))
        chosen[key] = value
    for key in ("subjectKeyIdentifier", "authorityKeyIdentifier"):
        if chosen.get(key) == "omit":
            chosen[key] = "none"  # OpenSSL 3 would otherwise add key identifiers by default
    path.write_text("[ext]\n" + "".join(f"{k} = {v}\n" for k, v in chosen.items() if v != "omit"))
    return path


@dataclass(frozen=True)
class OpensslPki:
    """Makes CAs and leaves with the openssl command, each with exactly the extensions asked for.

    An extension line whose value is `omit` leaves that extension out (e.g.
    `authorityKeyIdentifier = omit`: a leaf without an Authority Key Identifier).
    """

    folder: Path

    def ca(self, name: str, *extensions: str) -> CertFiles:
        """Return a self-signed EC P-256 CA named `name` (extensions: CA_EXTENSIONS, then `extensions`)."""
        files = CertFiles(self.folder / f"{name}.crt", self.folder / f"{name}.key")
        config = _extension_file(self.folder / f"{name}.cnf", (*CA_EXTENSIONS, *extensions))
        _openssl(
            "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", str(files.key), "-out", str(files.cert), "-subj", f"/CN={name}", "-days", "365",
            "-config", str(config), "-extensions", "ext",
        )  # fmt: skip
        return files

    def leaf(self, ca: CertFiles, name: str, host: str, *extensions: str) -> CertFiles:
        """Return an EC P-256 leaf for `host` signed by `ca` (extensions: `leaf_extensions`, then `extensions`)."""
        files = CertFiles(self.folder / f"{name}.crt", self.folder / f"{name}.key")
        request = self.folder / f"{name}.csr"
        config = _extension_file(self.folder / f"{name}.cnf", leaf_extensions(host, *extensions))
        _openssl(
            "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", str(files.key), "-out", str(request), "-subj", f"/CN={host}",
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", str(request), "-CA", str(ca.cert), "-CAkey", str(ca.key),
            "-set_serial", str(x509.random_serial_number()), "-out", str(files.cert), "-days", "365",
            "-extfile", str(config), "-extensions", "ext",
        )  # fmt: skip
        return files


def dh_params(folder: Path, bits: int) -> Path:
    """Return a PEM file of finite-field DH parameters of `bits` bits, made by the openssl command.

    2048 bits is RFC 7919's ffdhe2048 group (instant); other sizes are generated (`openssl dhparam`).
    """
    path = folder / f"dh{bits}.pem"
    if bits == 2048:
        _openssl("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", str(path))
    else:
        _openssl("dhparam", "-out", str(path), str(bits))
    return path


def openssl_accepts(port: int, server_name: str, ca_file: Path) -> tuple[bool, str]:
    """Return whether `openssl s_client -verify_return_error` accepts the server at 127.0.0.1:port, and why.

    The client checks the chain against `ca_file` and the name `server_name` as a TLS client
    does (OpenSSL's default verification, no -x509_strict).
    """
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("openssl is not installed: run `bash tests/run.sh`")
    done = subprocess.run(
        [
            binary, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", server_name,
            "-verify_hostname", server_name, "-CAfile", str(ca_file), "-verify_return_error", "-brief",
        ],
        input="", capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "verify" in line.lower()]
    return done.returncode == 0, "; ".join(lines) or f"exit {done.returncode}"
