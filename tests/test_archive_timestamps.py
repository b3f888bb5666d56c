"""RFC 3161 timestamps of each night's manifest, against OpenSSL's own TSA (demo/standins/tsa_server.py).

The token must verify with the right root and the right data only: other data, another root, a
backdated time, a signer that is no TSA, or a garbled or refused token each fail with the reason
and never raise. A TSA that fails, answers with bytes that are no timestamp, refuses, replays an
answer to another request, stamps other data or sends non-DER is refused at run time, naming the
TSA without its credentials. A run with `[archive] tsa_url` archives the token and verify-chain
checks it; a TSA that is down leaves the bundle archived without a timestamp and the run exits 7.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, decode_timestamp_response

from demo.standins.tsa_server import TsaServer, make_tsa_certificates, running_tsa
from reports.archive.timestamps import TimestampCheck, TimestampError, request_timestamp, verify_timestamp
from reports.manifest import TIMESTAMP_NAME
from tests.audit_runs import PASSING, ROOT, audit, error_lines, no_traceback

MANIFEST = b"0123abcd  evidence.json\n"


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[TsaServer]:
    with running_tsa(tmp_path / "tsa") as server:
        yield server


@pytest.fixture
def other_root(tmp_path: Path) -> bytes:
    """The root of another CA, with its own (unused) TSA certificate."""
    return make_tsa_certificates(tmp_path / "other", "Other").read_bytes()


def test_timestamp_verifies_with_its_root_and_its_data(tsa: TsaServer, other_root: bytes) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    token = request_timestamp(MANIFEST, tsa.url)
    after = datetime.now(UTC)
    root = tsa.ca_pem.read_bytes()
    check = verify_timestamp(token, MANIFEST, [root])
    assert check == TimestampCheck(True, time=check.time, tsa="CN=Test Timestamp Authority")
    assert check.time is not None
    assert check.time.tzinfo == UTC
    assert before - timedelta(seconds=1) <= check.time <= after + timedelta(seconds=1)
    # the roots as certificates, given twice, or among other roots: the same verdict
    certificate = x509.load_pem_x509_certificate(root)
    assert verify_timestamp(token, MANIFEST, [certificate, root]) == check
    assert verify_timestamp(token, MANIFEST, [other_root + root]) == check


def test_timestamp_of_other_data_fails_naming_the_imprint(tsa: TsaServer) -> None:
    token = request_timestamp(MANIFEST, tsa.url)
    check = verify_timestamp(token, MANIFEST + b"x", [tsa.ca_pem.read_bytes()])
    assert check == TimestampCheck(False, problem="it timestamps other data (message imprint differs)")


def test_timestamp_by_a_tsa_of_another_root_fails(tsa: TsaServer, other_root: bytes) -> None:
    token = request_timestamp(MANIFEST, tsa.url)
    check = verify_timestamp(token, MANIFEST, [other_root])
    assert not check.ok
    assert check.time is None
    assert check.problem == (
        "the TSA certificate does not chain to a trusted TSA root (unable to get local issuer certificate)"
    )


def test_backdated_timestamp_fails_its_signature(tsa: TsaServer) -> None:
    token = request_timestamp(MANIFEST, tsa.url)
    stamped = decode_timestamp_response(token).tst_info.gen_time
    written = f"{stamped:%Y%m%d%H%M%S}".encode()
    earlier = f"{stamped - timedelta(hours=1):%Y%m%d%H%M%S}".encode()  # while the TSA certificate was valid
    assert token.count(written) == 1
    check = verify_timestamp(token.replace(written, earlier), MANIFEST, [tsa.ca_pem.read_bytes()])
    assert not check.ok
    assert check.time is None
    assert str(check.problem).startswith("its signature does not verify (")


@pytest.mark.parametrize("mode", ["signer-tls", "signer-noncritical"])
def test_token_signed_by_a_certificate_that_is_no_tsa_fails(tsa: TsaServer, mode: str) -> None:
    """The same CA, the genuine TSTInfo, but a signer without the critical timeStamping EKU."""
    tsa.mode = mode
    token = request_timestamp(MANIFEST, tsa.url)  # nonce and imprint are right: only the signer is wrong
    check = verify_timestamp(token, MANIFEST, [tsa.ca_pem.read_bytes()])
    assert check == TimestampCheck(
        False,
        problem="the signing certificate is not a timestamping certificate (no critical timeStamping EKU)",
    )


def test_garbled_tokens_fail_without_raising(tsa: TsaServer) -> None:
    """Every one-byte change and every truncation gives a verdict; none gives another time or TSA."""
    token = request_timestamp(MANIFEST, tsa.url)
    roots = [tsa.ca_pem.read_bytes()]
    good = verify_timestamp(token, MANIFEST, roots)
    variants = [token[:n] for n in range(len(token))]
    variants += [token[:i] + bytes([token[i] ^ 0xFF]) + token[i + 1 :] for i in range(len(token))]
    verdicts = [verify_timestamp(variant, MANIFEST, roots) for variant in variants]
    assert all(isinstance(verdict, TimestampCheck) for verdict in verdicts)
    assert all(verdict == good for verdict in verdicts if verdict.ok)  # unsigned framing only
    assert all(verdict.problem for verdict in verdicts if not verdict.ok)
    assert sum(not verdict.ok for verdict in verdicts) > len(variants) * 0.95
    assert verify_timestamp(b"", MANIFEST, roots).problem == f"{TIMESTAMP_NAME} is not a timestamp response"
    assert (
        verify_timestamp(b"<html>", MANIFEST, roots).problem
        == f"{TIMESTAMP_NAME} is not a timestamp response"
    )
    assert (
        verify_timestamp(token, MANIFEST, [b"not pem"]).problem
        == "the trusted TSA roots are not PEM certificates"
    )
    assert verify_timestamp(token, MANIFEST, []).problem == "no trusted TSA root was given"


def test_stored_refusal_is_no_timestamp(tsa: TsaServer) -> None:
    query = (
        TimestampRequestBuilder()
        .data(MANIFEST)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .build()
    )
    tsa.mode = "refuse"
    status, refusal = tsa.answer(query.as_bytes())
    assert status == 200
    check = verify_timestamp(refusal, MANIFEST, [tsa.ca_pem.read_bytes()])
    assert check == TimestampCheck(
        False,
        problem="it holds no timestamp: the TSA status rejection: Message digest algorithm is not supported.",
    )


def test_timestamp_of_another_digest_is_refused(tsa: TsaServer) -> None:
    query = TimestampRequestBuilder().data(MANIFEST).hash_algorithm(HashAlgorithm.SHA512).build()
    status, token = tsa.answer(query.as_bytes())
    assert status == 200
    check = verify_timestamp(token, MANIFEST, [tsa.ca_pem.read_bytes()])
    assert check == TimestampCheck(False, problem="its message imprint is sha512, not sha256")


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("http-500", "HTTP 500"),
        ("garbage", "the answer is not a timestamp response"),
        ("replay", "the answer is for another request (nonce mismatch)"),
        ("refuse", "refused (status rejection: Message digest algorithm is not supported.)"),
        ("other-imprint", "the answer timestamps other data (message imprint mismatch)"),
        (
            "with-chain",
            "the answer is not a timestamp response (not strict DER: a SET, such as its certificates",
        ),
    ],
)
def test_misbehaving_tsa_is_refused_naming_it(tsa: TsaServer, mode: str, message: str) -> None:
    request_timestamp(b"an earlier manifest", tsa.url)  # something to replay
    tsa.mode = mode
    with pytest.raises(TimestampError) as caught:
        request_timestamp(MANIFEST, tsa.url)
    host = httpx.URL(tsa.url).netloc.decode()
    assert str(caught.value).startswith(f"TSA http://{host}/...: {message}")


def test_tsa_error_names_the_tsa_without_its_credentials(tsa: TsaServer) -> None:
    tsa.mode = "http-500"
    url = tsa.url.replace("http://", "http://auditor:s3cret-pw@") + "?key=s3cret-key"
    with pytest.raises(TimestampError) as caught:
        request_timestamp(MANIFEST, url)
    assert "HTTP 500" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert "auditor" not in str(caught.value)


def test_tsa_that_does_not_answer_or_is_no_url_is_refused() -> None:
    with pytest.raises(TimestampError, match=r"^TSA http://127\.0\.0\.1:9/\.\.\.: no answer"):
        request_timestamp(MANIFEST, "http://127.0.0.1:9/tsr", timeout=2)
    with pytest.raises(TimestampError, match="not a usable URL"):
        request_timestamp(MANIFEST, "http://[::1/tsr", timeout=2)
    with pytest.raises(TimestampError, match="not a usable URL"):
        request_timestamp(MANIFEST, "ftp://127.0.0.1/tsr", timeout=2)


def archive_with_tsa(archive: Path, tsa_url: str, ca: Path) -> str:
    return f'{PASSING}\n[archive]\npath = "{archive}"\ntsa_url = "{tsa_url}"\ntsa_ca_file = "{ca}"\ntimeout_seconds = 5.0\n'


def test_run_timestamps_its_manifest_and_verify_chain_checks_it(tsa: TsaServer, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    for night in ("2026-11-28", "2026-11-29"):
        run = audit(tmp_path / night, archive_with_tsa(archive, tsa.url, tsa.ca_pem), "--as-of", night)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "timestamped" in run.stdout
    stamps = sorted(archive.rglob(TIMESTAMP_NAME))
    assert len(stamps) == 2
    check = subprocess.run(
        [sys.executable, "-m", "reports", "verify-chain", str(archive), "--tsa-ca", str(tsa.ca_pem)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("timestamped 20") == 2
    stamps[0].chmod(0o644)
    stamps[0].write_bytes(stamps[1].read_bytes())  # the other night's token: valid, but for other data
    again = subprocess.run(
        [sys.executable, "-m", "reports", "verify-chain", str(archive), "--tsa-ca", str(tsa.ca_pem)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 1
    assert "timestamp: it timestamps other data" in again.stdout


def test_tsa_down_leaves_the_night_archived_untimestamped_and_exit_7(tsa: TsaServer, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    tsa.mode = "http-500"
    run = audit(tmp_path / "run", archive_with_tsa(archive, tsa.url, tsa.ca_pem))
    assert run.returncode == 7, run.stdout + run.stderr
    no_traceback(run)
    [line] = [line for line in error_lines(run) if "[archive]" in line]
    assert "archive.tsa_url: the manifest was not timestamped" in line
    assert "HTTP 500" in line
    assert list(archive.rglob("MANIFEST.sha256"))
    assert not list(archive.rglob(TIMESTAMP_NAME))
