"""Re-record demo/recording.json: audit the demo estate over HTTPS and SSH, as a live run would.

Run from the repository root as root (sshd): `python -m demo.make_recording`. Azure comes from
demo/estate/ served by the ARM emulator (one 403 injected on purpose, so the demo shows an
`error` item); the hosts are served by a real OpenSSH sshd (tests/sshd_server.py): Windows hosts
answer through the recorded-output PowerShell stand-in, lnx01 is this machine, lnx02 runs the
real fact script with recorded tool outputs of a hardened host. The recording is what
`pytest controls/ --demo` replays.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import trustme

from tests.arm_emulator import ArmEmulator, Fault, load_estate
from tests.audit_runs import hosts_toml
from tests.sshd_server import HostBehaviour, SshdServer, python_command
from tests.tls_servers import NginxSite, TlsServers, issue_cert

DEMO = Path(__file__).resolve().parent
ROOT = DEMO.parent
RUN_DATE = "2026-11-29"
HOSTS_MARKER = "# --- hosts"
STANDIN = ROOT / "tests" / "windows_standin.py"
LINUX_FIXTURES = ROOT / "tests" / "fixtures" / "linux"
WINDOWS_HOSTS = {
    "web01": "patched-2022",
    "web02": "stale-2022",
    "web06": "bitlocker-data-off",
    "web07": "firewall-public-off",
    "web08": "tls10-absent",
    "db01": "db-2022",
    "legacy01": "server-2012r2",
}
FORBIDDEN_DATABASES = Fault(
    path=r"/servers/sql-legacy/databases$",
    status=403,
    code="AuthorizationFailed",
    message="The client does not have authorization to perform action "
    "'Microsoft.Sql/servers/databases/read' over scope '.../sql-legacy'.",
)


def hardened_tools(folder: Path) -> Path:
    """Return a folder of stand-in tools that print a hardened host's recorded outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {
        "nft": (LINUX_FIXTURES / "nft_hardened.json").read_text(encoding="utf-8"),
        "lsblk": (LINUX_FIXTURES / "lsblk_luks_lvm.json").read_text(encoding="utf-8"),
        "apt": "Listing...\n",
    }
    for name, output in outputs.items():
        tool = folder / name
        tool.write_text(f"#!/bin/sh\ncat <<'RECORDED'\n{output}\nRECORDED\n", encoding="utf-8")
        tool.chmod(0o755)
    return folder


def main() -> int:
    """Record the demo estate; return pytest's exit code (1: the demo fails controls on purpose)."""
    estate = load_estate(DEMO / "estate")
    with tempfile.TemporaryDirectory() as scratch:
        tools = hardened_tools(Path(scratch) / "tools")
        hosts: dict[str, HostBehaviour | None] = {
            name: HostBehaviour(command=python_command(STANDIN, scenario))
            for name, scenario in WINDOWS_HOSTS.items()
        }
        hosts["lnx01"] = None
        # lnx02: the real script arrives on stdin; its tools are looked up in `tools` first
        hosts["lnx02"] = HostBehaviour(command=f"sed 's|^PATH=|PATH={tools}:|' | sh -s")
        tls_dir = Path(scratch) / "tls"
        tls_dir.mkdir()
        ca = trustme.CA()
        ca_file = tls_dir / "demo-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        with (
            ArmEmulator(estate, page_size=2, faults=[FORBIDDEN_DATABASES]) as emulator,
            SshdServer(Path(scratch) / "sshd", hosts) as sshd,
            TlsServers(tls_dir) as tls,
        ):
            modern = tls.nginx([NginxSite("modern", issue_cert(tls_dir, ca, "modern", "localhost"))])[
                "modern"
            ]
            legacy = tls.openssl(
                issue_cert(tls_dir, ca, "legacy", "localhost"),
                "-min_protocol",
                "TLSv1",
                "-cipher",
                "DEFAULT@SECLEVEL=0",
            )
            expired = tls.openssl(
                issue_cert(
                    tls_dir,
                    ca,
                    "expired",
                    "localhost",
                    not_before=datetime(2025, 10, 1, tzinfo=UTC),
                    not_after=datetime(2026, 10, 1, tzinfo=UTC),
                ),
                "-min_protocol",
                "TLSv1.2",
            )
            config = (DEMO / "audit.toml").read_text(encoding="utf-8")
            config = config.split(HOSTS_MARKER, 1)[0]
            config = config.replace('endpoint = "https://127.0.0.1:8443"', f'endpoint = "{emulator.url}"')
            config = config.replace("[azure]\n", f'[azure]\nca_bundle = "{emulator.ca_file}"\n', 1)
            roles = {"db01": ["db"], "lnx02": ["db"]}
            entries = [
                sshd.host_entry(
                    name, os="windows" if name in WINDOWS_HOSTS else "linux", roles=roles.get(name, ["web"])
                )
                for name in hosts
            ]
            config += "\n" + hosts_toml(entries)
            address, port = sshd.address("web01"), sshd.port
            config += f'\n[[probes]]\naddress = "{address}"\nports = [{port}]\n'  # open: the failing probe
            for tls_port in (modern.https, legacy, expired):
                config += f'\n[[endpoints]]\nurl = "https://localhost:{tls_port}/"\nca_bundle = "{ca_file}"\n'
            recording_config = DEMO / ".recording-audit.toml"
            recording_config.write_text(config, encoding="utf-8")
            try:
                completed = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "controls/",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        "--audit-config",
                        str(recording_config),
                        "--record",
                        str(DEMO / "recording.json"),
                        "--as-of",
                        RUN_DATE,
                        "--evidence-dir",
                        str(ROOT / "evidence" / "demo-recording"),
                    ],
                    cwd=ROOT,
                    env={**os.environ, "AUDIT_AZURE_TOKEN": "demo-recording-token"},
                    check=False,
                )
            finally:
                recording_config.unlink()
    return completed.returncode


if __name__ == "__main__":
    raise SystemExit(main())
