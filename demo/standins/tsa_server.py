"""A real RFC 3161 timestamp authority for the tests and the demo: OpenSSL's own TSA behind HTTP.

    with running_tsa(tmp_path / "tsa") as tsa:
        tsa.url          # [archive] tsa_url (http://127.0.0.1:<free port>/tsr)
        tsa.ca_pem       # [archive] tsa_ca_file: the root the TSA certificate chains to
        tsa.mode = "replay"   # misbehave from the next request on

`openssl ts -reply` answers each request (OpenSSL's TSA, configured by an `openssl.cnf` `[tsa]`
section written here), signing with a TSA certificate made with `cryptography` under a CA of its
own: critical extendedKeyUsage timeStamping, as RFC 3161 requires. Each answer carries the TSA
certificate (certReq), not the CA. `mode` makes it misbehave the ways a TSA, or a proxy in front
of it, can:

- `http-500`: an HTTP error; `garbage`: 200 with bytes that are no timestamp response;
- `replay`: the previous answer again, for another request (its nonce does not match);
- `refuse`: OpenSSL's TSA really refuses (it is configured to accept only sha512 imprints);
- `other-imprint`: a genuine, signed answer for a different message imprint (the query's
  imprint is changed before OpenSSL answers it: the nonce still matches);
- `with-chain`: the answer also carries the CA certificate; OpenSSL then writes the SignedData
  certificates SET out of DER order (reported of some commercial TSAs too), which rfc3161-client's
  strict parser refuses;
- `signer-tls` / `signer-noncritical`: the genuine TSTInfo, re-signed (`openssl cms -sign`) by a
  certificate from the same CA that is no TSA certificate: a TLS server certificate, or one with
  the timeStamping purpose in a non-critical extension. The token then chains to the trusted
  root, and only the certificate's purpose is wrong.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MODES = (
    "ok",
    "http-500",
    "garbage",
    "replay",
    "refuse",
    "other-imprint",
    "with-chain",
    "signer-tls",
    "signer-noncritical",
)

_SECTION = """\
[ {name} ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
other_policies = 1.3.6.1.4.1.55555.2
digests = {digests}
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
{extra}
"""


def _config(folder: Path) -> str:
    """Return the openssl.cnf: the TSA as it should be, and the sections the misbehaving modes use."""
    sections = [
        ("tsa_config1", "sha256, sha384, sha512", ""),
        ("tsa_sha512_only", "sha512", ""),
        ("tsa_with_chain", "sha256, sha384, sha512", "certs = $dir/ca.pem"),
    ]
    return "[ tsa ]\ndefault_tsa = tsa_config1\n\n" + "\n".join(
        _SECTION.format(name=name, folder=folder, digests=digests, extra=extra)
        for name, digests, extra in sections
    )


_IMPRINT = re.compile(r"^\s*(\d+):d=2\s+hl=(\d+)\s+l=\s*(\d+)\s+prim:\s+OCTET STRING", re.MULTILINE)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(folder: Path, stem: str, subject: str, usage: x509.ExtendedKeyUsage, critical: bool) -> None:
    """Write `stem`.pem and `stem`.key: a leaf for `subject` with `usage`, issued by ca.pem/ca.key in `folder`."""
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{folder / 'ca.key'} is not the EC key make_tsa_certificates writes")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(usage, critical=critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (folder / f"{stem}.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(_pem_key(key))


def make_tsa_certificates(folder: Path, label: str = "Test") -> Path:
    """Write a CA (ca.pem, ca.key) and a TSA key and certificate (tsa.key, tsa.pem) into `folder`.

    Returns ca.pem's path: the trusted root to give the verifier. The TSA certificate has the
    critical timeStamping extended key usage that RFC 3161 (and OpenSSL's TSA) require.
    """
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} TSA Root"))
        .issuer_name(_name(f"{label} TSA Root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "ca.key").write_bytes(_pem_key(ca_key))
    _issue(
        folder,
        "tsa",
        f"{label} Timestamp Authority",
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
        critical=True,
    )
    return folder / "ca.pem"


def _openssl(*arguments: str) -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("openssl is not installed: run `bash tests/run.sh`")
    return subprocess.run([binary, *arguments], capture_output=True, timeout=30, check=False)


@dataclass
class TsaServer:
    """A running TSA: its URL, the PEM of its root, and how it should behave for the next requests."""

    url: str
    ca_pem: Path
    folder: Path
    mode: str = "ok"
    """One of MODES (see the module docstring)."""
    requests: int = 0
    last_answer: bytes = b""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, query: bytes) -> tuple[int, bytes]:
        """Return (HTTP status, body) for one timestamp query, as the current mode says."""
        with self.lock:
            self.requests += 1
            if self.mode not in MODES:
                return 500, f"unknown stand-in mode {self.mode!r}".encode()
            if self.mode == "http-500":
                return 500, b"internal error"
            if self.mode == "garbage":
                return 200, b"<html>not a timestamp</html>"
            if self.mode == "replay" and self.last_answer:
                return 200, self.last_answer
            with tempfile.TemporaryDirectory(dir=self.folder) as scratch:
                try:
                    reply = self._reply(query, Path(scratch))
                except RuntimeError as exc:
                    return 500, str(exc).encode()[-300:]
            if self.mode == "ok":
                self.last_answer = reply
            return 200, reply

    def _reply(self, query: bytes, scratch: Path) -> bytes:
        """Return OpenSSL's TimeStampResp to `query`, bent the way the mode says."""
        request, reply = scratch / "q.tsq", scratch / "r.tsr"
        request.write_bytes(query)
        if self.mode == "other-imprint":
            request.write_bytes(self._other_imprint(query, request))
        section = {"refuse": ["-section", "tsa_sha512_only"], "with-chain": ["-section", "tsa_with_chain"]}
        self._run(
            "ts", "-reply", "-config", str(self.folder / "openssl.cnf"), *section.get(self.mode, []),
            "-queryfile", str(request), "-out", str(reply),
        )  # fmt: skip
        if self.mode in ("signer-tls", "signer-noncritical"):
            return self._resigned(reply, scratch)
        return reply.read_bytes()

    def _run(self, *arguments: str) -> None:
        done = _openssl(*arguments)
        if done.returncode != 0:
            raise RuntimeError(
                f"openssl {arguments[0]} {arguments[1]}: {done.stderr.decode(errors='replace')}"
            )

    def _other_imprint(self, query: bytes, request: Path) -> bytes:
        """Return `query` with its message imprint inverted (found by `openssl asn1parse`), nonce kept."""
        parsed = _openssl("asn1parse", "-inform", "DER", "-in", str(request))
        found = _IMPRINT.search(parsed.stdout.decode())
        if found is None:
            raise RuntimeError("no message imprint in the query")
        start = int(found.group(1)) + int(found.group(2))
        end = start + int(found.group(3))
        return query[:start] + bytes(b ^ 0xFF for b in query[start:end]) + query[end:]

    def _resigned(self, reply: Path, scratch: Path) -> bytes:
        """Return `reply`'s TSTInfo signed again by a certificate of the same CA that is no TSA's."""
        stem = self.mode
        if not (self.folder / f"{stem}.pem").is_file():
            if stem == "signer-tls":
                usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
                _issue(self.folder, stem, "tsa.example.test", usage, critical=False)
            else:
                usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
                _issue(self.folder, stem, "Test Lenient Timestamp Signer", usage, critical=False)
        token, content, signed, wrapped = (scratch / n for n in ("t.der", "c.der", "s.der", "w.tsr"))
        self._run("ts", "-reply", "-in", str(reply), "-token_out", "-out", str(token))
        self._run(
            "cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in", str(token), "-out", str(content),
        )  # fmt: skip
        self._run(
            "cms", "-sign", "-binary", "-nodetach", "-nosmimecap", "-md", "sha256",
            "-econtent_type", "id-smime-ct-TSTInfo", "-in", str(content),
            "-signer", str(self.folder / f"{stem}.pem"), "-inkey", str(self.folder / f"{stem}.key"),
            "-outform", "DER", "-out", str(signed),
        )  # fmt: skip
        self._run("ts", "-reply", "-in", str(signed), "-token_in", "-out", str(wrapped))
        return wrapped.read_bytes()


@contextmanager
def running_tsa(workdir: Path) -> Iterator[TsaServer]:
    """Yield a started TSA on 127.0.0.1 (a free port) with its certificates in `workdir`; stop it after.

    The port is the kernel's choice at bind time, so parallel test workers never collide.
    """
    ca = make_tsa_certificates(workdir)
    (workdir / "serial").write_text("01\n", encoding="ascii")
    (workdir / "openssl.cnf").write_text(_config(workdir), encoding="utf-8")
    holder: list[TsaServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, body = holder[0].answer(self.rfile.read(length))
            self.send_response(status)
            self.send_header("Content-Type", "application/timestamp-reply" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(TsaServer(f"http://127.0.0.1:{server.server_address[1]}/tsr", ca, workdir))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
