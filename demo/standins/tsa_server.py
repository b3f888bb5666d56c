"""A real RFC 3161 timestamp authority for the tests and the demo: OpenSSL's own TSA behind HTTP.

`openssl ts -reply` answers each request (OpenSSL's TSA, with a CA and a TSA certificate made here
with `cryptography`: critical extendedKeyUsage timeStamping, as RFC 3161 requires), behind a small
`http.server` on 127.0.0.1. `mode` makes it misbehave the ways a TSA or a proxy in front of it can:
`http-500`, `garbage` (bytes that are no response) and `replay` (the previous answer again, for
another request: a nonce mismatch).
"""

from __future__ import annotations

import datetime
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

_CONFIG = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
other_policies = 1.3.6.1.4.1.55555.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tsa_certificates(folder: Path, label: str = "Test") -> Path:
    """Write a CA (ca.pem) and a TSA key and certificate (tsa.key, tsa.pem) into `folder`; return ca.pem's path."""
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
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} Timestamp Authority"))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.pem").write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "ca.pem"


@dataclass
class TsaServer:
    """A running TSA: its URL, the PEM of its root, and how it should behave for the next requests."""

    url: str
    ca_pem: Path
    folder: Path
    mode: str = "ok"
    """ok, http-500, garbage or replay."""
    requests: int = 0
    last_answer: bytes = b""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, query: bytes) -> tuple[int, bytes]:
        """Return (HTTP status, body) for one timestamp query, as the current mode says."""
        with self.lock:
            self.requests += 1
            if self.mode == "http-500":
                return 500, b"internal error"
            if self.mode == "garbage":
                return 200, b"<html>not a timestamp</html>"
            if self.mode == "replay" and self.last_answer:
                return 200, self.last_answer
            with tempfile.TemporaryDirectory(dir=self.folder) as scratch:
                request, reply = Path(scratch) / "q.tsq", Path(scratch) / "r.tsr"
                request.write_bytes(query)
                run = subprocess.run(
                    ["openssl", "ts", "-reply", "-config", str(self.folder / "openssl.cnf"),
                     "-queryfile", str(request), "-out", str(reply)],
                    capture_output=True, timeout=30, check=False,
                )  # fmt: skip
                if run.returncode != 0 or not reply.is_file():
                    return 500, run.stderr[-300:]
                self.last_answer = reply.read_bytes()
                return 200, self.last_answer


@contextmanager
def running_tsa(workdir: Path) -> Iterator[TsaServer]:
    """Yield a started TSA on 127.0.0.1 (a free port) with its certificates in `workdir`; stop it after."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = make_tsa_certificates(workdir)
    (workdir / "serial").write_text("01\n", encoding="ascii")
    (workdir / "openssl.cnf").write_text(_CONFIG.format(folder=workdir), encoding="utf-8")
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
