"""The two-site demo: a real Redis broker, two real Celery workers, and `pytest controls/` coordinating them.

    python -m demo.sites [--out DIR] [--lang en|nl]

Site "rivium" (trusted, the datacenter) reads Azure (the demo estate, served over HTTPS by the
ARM emulator, one work order per subscription) and scans the demo TLS endpoint; site
"amsterdam" (untrusted, the internet) sends the exposure probes: it finds the emulator's port
open, which is a finding, since that port is on the sensitive list of the demo's policy. Both
workers run on this machine (a real deployment runs each at its site:
`celery -A collectors.distributed.app worker -Q <site>`), each with its own environment: only
rivium holds the Azure token. Everything is stopped at the end, whatever happened; the run's
exit code is the demo's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from demo.standins.arm_emulator import ArmEmulator, load_estate
from demo.standins.redis_broker import RedisBroker
from demo.standins.site_worker import SiteWorker

ROOT = Path(__file__).resolve().parent.parent
TOKEN_VARIABLE = "AUDIT_AZURE_TOKEN"
BROKER_VARIABLE = "DEMO_BROKER_PASSWORD"
SUBSCRIPTIONS = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222")


def config_text(emulator: ArmEmulator, broker: RedisBroker) -> str:
    """Return the demo's audit.toml: two sites, Azure at rivium, probes from amsterdam."""
    subscriptions = ", ".join(f'"{s}"' for s in SUBSCRIPTIONS)
    return f"""# The two-site demo (python -m demo.sites): written by the demo, read by pytest controls/.
[policy]
trusted_networks = ["192.0.2.0/24", "203.0.113.0/24", "198.51.100.0/24"]
sensitive_ports = [1433, 3389, 5432, {emulator.port}]

[[sites]]
name = "local"
description = "the machine of the nightly run (coordinator)"
vantage = "trusted"

[[sites]]
name = "rivium"
description = "Databarn Rivium, management network"
vantage = "trusted"

[[sites]]
name = "amsterdam"
description = "a probe host on the internet"
vantage = "untrusted"

[distributed]
broker = "{broker.url}"
password_env = "{BROKER_VARIABLE}"
deadline_minutes = 3
subscriptions_per_task = 1

[azure]
site = "rivium"
endpoint = "{emulator.url}"
ca_bundle = "{emulator.ca_file}"
credential = "static-token"
subscriptions = [{subscriptions}]

[probing]
include_azure_sql = false

[[probes]]
address = "127.0.0.1"
ports = [{emulator.port}]
site = "rivium"
"""


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the audit run's exit code (1: the demo estate has findings on purpose)."""
    parser = argparse.ArgumentParser(prog="python -m demo.sites", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "evidence" / "sites-demo", help="evidence folder (replaced)"
    )
    parser.add_argument("--lang", choices=("en", "nl"), default="en", help="the report's language")
    options = parser.parse_args(argv)
    shutil.rmtree(options.out, ignore_errors=True)
    token = "demo-token-" + secrets.token_hex(8)
    broker_password = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="sites-demo-") as scratch:
        folder = Path(scratch)
        workers: list[SiteWorker] = []
        with (
            ArmEmulator(load_estate(ROOT / "demo" / "estate"), page_size=50, tokens={token}) as emulator,
            RedisBroker(folder / "redis", password=broker_password) as broker,
        ):
            try:
                print(f"== broker {broker.url} (redis-server, password from ${BROKER_VARIABLE})")
                rivium = SiteWorker(
                    "rivium", broker.url, broker_password, folder, environment={TOKEN_VARIABLE: token}
                )
                workers.append(rivium.start())
                print("== worker rivium started (trusted; holds the Azure token)")
                amsterdam = SiteWorker(
                    "amsterdam", broker.url, broker_password, folder, environment={TOKEN_VARIABLE: ""}
                )
                workers.append(amsterdam.start())
                print("== worker amsterdam started (untrusted; no Azure credential)")
                config = folder / "audit.toml"
                config.write_text(config_text(emulator, broker), encoding="utf-8")
                environment = {
                    **os.environ,
                    BROKER_VARIABLE: broker_password,
                    "NO_PROXY": "127.0.0.1,localhost",
                }
                environment.pop(TOKEN_VARIABLE, None)  # the coordinator reads no Azure: rivium does
                print("== pytest controls/ (the coordinator)")
                run = subprocess.run(
                    [sys.executable, "-m", "pytest", "controls/", "-p", "no:cacheprovider", "-q",
                     "--audit-config", str(config), "--evidence-dir", str(options.out),
                     "--report-lang", options.lang, "--as-of", "2026-11-29"],
                    cwd=ROOT, env=environment, check=False,
                )  # fmt: skip
                print(
                    f"== report: {options.out / 'report.html'} (the cover's Sites card lists what each site returned)"
                )
                return run.returncode
            finally:
                for worker in workers:
                    worker.stop()
                print("== workers and broker stopped")


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    raise SystemExit(main())
