"""RFC 3161 timestamps of each night's manifest, against OpenSSL's own TSA (demo/standins/tsa_server.py).

The token must verify with the right root and the right data only; a TSA that fails, answers with
bytes that are no timestamp, or replays an answer to another request is refused at run time; a
run with `[archive] tsa_url` archives the token and verify-chain checks it; a TSA that is down
leaves the bundle archived without a timestamp and the run exits 7.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.standins.tsa_server import TsaServer, make_tsa_certificates, running_tsa
from reports.archive.timestamps import TimestampError, request_timestamp, verify_timestamp
from reports.manifest import TIMESTAMP_NAME
from tests.audit_runs import PASSING, ROOT, audit, error_lines, no_traceback

MANIFEST = b"0123abcd  evidence.json\n"


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[TsaServer]:
    with running_tsa(tmp_path / "tsa") as server:
        yield server


def test_timestamp_verifies_with_its_root_and_its_data(tsa: TsaServer) -> None:
    token = request_timestamp(MANIFEST, tsa.url)
    check = verify_timestamp(token, MANIFEST, [tsa.ca_pem.read_bytes()])
    assert check.ok
    assert check.tsa == "CN=Test Timestamp Authority"
    assert check.time is not None
    assert check.time.tzinfo is not None


def test_timestamp_of_other_data_fails_naming_the_imprint(tsa: TsaServer) -> None:
    token = request_timestamp(MANIFEST, tsa.url)
    check = verify_timestamp(token, MANIFEST + b"x", [tsa.ca_pem.read_bytes()])
    assert not check.ok
    assert check.problem == "it timestamps other data (message imprint differs)"


def test_timestamp_by_a_tsa_of_another_root_fails(tsa: TsaServer, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    token = request_timestamp(MANIFEST, tsa.url)
    check = verify_timestamp(token, MANIFEST, [make_tsa_certificates(other, "Other").read_bytes()])
    assert not check.ok
    assert "does not verify against the trusted TSA roots" in str(check.problem)


def test_garbled_token_fails_without_raising(tsa: TsaServer) -> None:
    token = bytearray(request_timestamp(MANIFEST, tsa.url))
    token[len(token) // 2] ^= 0xFF
    assert not verify_timestamp(bytes(token), MANIFEST, [tsa.ca_pem.read_bytes()]).ok
    assert not verify_timestamp(b"", MANIFEST, [tsa.ca_pem.read_bytes()]).ok
    assert not verify_timestamp(b"\x30\x03\x02\x01\x00", MANIFEST, [b"not pem"]).ok


@pytest.mark.parametrize(
    ("mode", "message"),
    [("http-500", "HTTP 500"), ("garbage", "not a timestamp response"), ("replay", "nonce mismatch")],
)
def test_misbehaving_tsa_is_refused_naming_it(tsa: TsaServer, mode: str, message: str) -> None:
    request_timestamp(b"an earlier manifest", tsa.url)  # something to replay
    tsa.mode = mode
    with pytest.raises(TimestampError, match=message) as caught:
        request_timestamp(MANIFEST, tsa.url)
    assert "127.0.0.1" in str(caught.value)


def test_tsa_that_does_not_answer_is_refused() -> None:
    with pytest.raises(TimestampError, match="no answer"):
        request_timestamp(MANIFEST, "http://127.0.0.1:9/tsr", timeout=2)


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
