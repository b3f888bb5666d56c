"""Re-record demo/recording.json: audit demo/estate/ served by the ARM emulator over HTTPS.

Run from the repository root: `python -m demo.make_recording`. The recording is what
`pytest controls/ --demo` replays. One 403 is injected on purpose (sql-legacy's database
list), so that the demo shows an `error` item as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.arm_emulator import ArmEmulator, Fault, load_estate

DEMO = Path(__file__).resolve().parent
ROOT = DEMO.parent
RUN_DATE = "2026-11-29"
FORBIDDEN_DATABASES = Fault(
    path=r"/servers/sql-legacy/databases$",
    status=403,
    code="AuthorizationFailed",
    message="The client does not have authorization to perform action "
    "'Microsoft.Sql/servers/databases/read' over scope '.../sql-legacy'.",
)


def main() -> int:
    """Record the demo estate; return pytest's exit code (1: the demo fails controls on purpose)."""
    estate = load_estate(DEMO / "estate")
    with ArmEmulator(estate, page_size=2, faults=[FORBIDDEN_DATABASES]) as emulator:
        config = (DEMO / "audit.toml").read_text(encoding="utf-8")
        config = config.replace('endpoint = "https://127.0.0.1:8443"', f'endpoint = "{emulator.url}"')
        config = config.replace("[azure]\n", f'[azure]\nca_bundle = "{emulator.ca_file}"\n', 1)
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
