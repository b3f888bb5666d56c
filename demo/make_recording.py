"""Re-record demo/recording.json: audit the demo estate over HTTPS and SSH, as a live run would.

Run from the repository root as root (sshd): `python -m demo.make_recording`. Azure comes from
demo/estate/ served by the ARM emulator (one 403 injected on purpose, so the demo shows an
`error` item); the hosts are served by a real OpenSSH sshd (demo/standins/sshd_server.py): Windows hosts
answer through the recorded-output PowerShell stand-in, lnx01 is this machine, lnx02 runs the
real fact script with recorded tool outputs of a hardened host. The databases: two real
PostgreSQL clusters (demo/standins/postgres_clusters.py: one planted with every issue-6 fault, one
clean), a RavenDB stand-in over real HTTPS with client certificates serving recorded REST
answers, and an on-prem SQL Server and an Azure SQL server whose catalog rows come from
recorded result sets (demo/standins/database_recordings/sqlserver/) read through the real SQL Server
reader's fetch with a recorded DB-API connection: no SQL Server can run here. The recording
is what `pytest controls/ --demo` replays.

Clauses 6c, 6d, 6e (newsletter), 10, 11 (terminated agreements) and 13 (breach notification) are
planted here too (`plant_privacy_data`, `jira_register`): a card number in one scanned column of
pg-legacy's shop_db and none in the other; subscribers of shop, one without opt-in, and of webshop,
all opted in; on pg-synda helpdesk (agreement ended, database still there) and intranet (agreement
ended, database dropped, its login left with nothing to reach), and on Azure SQL sql-weu
azure-archive (one long-term backup kept past three months: demo/estate/sql_weu.json) and
azure-portal (its backups expiring in time); a Jira emulator
holding the data-subject requests and incidents; the tracking nginx stand-in
(demo/standins/tracking_sites.py) with a page that loads analytics at once and one that waits
for consent, Chromium reaching the analytics host on loopback through a wrapper
(`AUDIT_CHROMIUM`) that adds `--host-resolver-rules`. The card number and the e-mail addresses
are canaries: none may appear in the recording or in evidence.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import trustme

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry
from collectors.config.policy import Policy
from collectors.databases.collect import ServerRun
from collectors.databases.sqlserver import SqlServerReader
from collectors.recording import Recording
from collectors.tracking.pages import find_chromium
from demo.standins.arm_emulator import ArmEmulator, Fault, load_estate
from demo.standins.postgres_clusters import (
    AUDITOR_PASSWORD,
    PASSWORD_ENV,
    PlantedClusters,
    databases_toml,
    planted_clusters,
)
from demo.standins.recorded_databases import (
    AUDITOR,
    FakeRavenDb,
    Pki,
    azure_apps,
    azure_entry,
    onprem_apps,
    onprem_entry,
    recorded,
    recorded_answers,
)
from demo.standins.sshd_server import HostBehaviour, SshdServer, hosts_toml, python_command
from demo.standins.ticket_emulators.jira import JiraEmulator
from demo.standins.tls_servers import NginxSite, TlsServers, issue_cert
from demo.standins.tracking_sites import TRACKER_HOST, TrackingSites

DEMO = Path(__file__).resolve().parent
ROOT = DEMO.parent
RUN_DATE = "2026-11-29"
RECORDED_AT = datetime.fromisoformat(f"{RUN_DATE}T06:00:00+00:00")
"""The demo's moment: certificates and recorded catalogs are dated from it, not from the wall clock,
so re-recording on a later day gives the same verdicts as of RUN_DATE."""
HOSTS_MARKER = "# --- hosts"
STANDIN = DEMO / "standins" / "windows_powershell.py"
LINUX_RECORDINGS = DEMO / "standins" / "linux_recordings"
"""Recorded outputs of a hardened Linux host's nft and lsblk (see its README.md)."""
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
        "nft": (LINUX_RECORDINGS / "nft_hardened.json").read_text(encoding="utf-8"),
        "lsblk": (LINUX_RECORDINGS / "lsblk_luks_lvm.json").read_text(encoding="utf-8"),
        "apt": "Listing...\n",
    }
    for name, output in outputs.items():
        tool = folder / name
        tool.write_text(f"#!/bin/sh\ncat <<'RECORDED'\n{output}\nRECORDED\n", encoding="utf-8")
        tool.chmod(0o755)
    return folder


DEMO_TOKEN = ".".join(
    base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
    for part in (
        {"alg": "none", "typ": "JWT"},
        {
            "oid": "5d1f8a8e-1c1e-4a55-9b7d-0f6f2f0c9a11",
            "tid": "33333333-3333-4333-8333-333333333333",
            "appid": "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
            "idtyp": "app",
            "name": "mi-statement-auditor (demo)",
        },
        {"demo": "unsigned"},
    )
)
"""The demo's bearer token: shaped like a managed identity's, so the report names the executor."""
PG_NAMES = {"pg-planted": "pg-legacy", "pg-clean": "pg-synda"}
RAVEN_APPLICATIONS = """
[[applications]]
name = "raven-shop"
server = "raven01"
database = "Shop"
certificate = "3F2A9C1B7D8E6F5A4B3C2D1E0F9A8B7C6D5E4F3A"

[[applications]]
name = "raven-synda"
server = "raven01"
database = "Synda"
certificate = "7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D"

[[applications]]
name = "raven-import"
server = "raven01"
database = "Shop"
certificate = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
"""
SQL_SERVERS: dict[str, tuple[DatabaseServerEntry, list[ApplicationEntry], tuple[str, ...]]] = {
    "sql01": (
        onprem_entry(host="sql01.demo.example"),
        onprem_apps("sql-"),
        ("encryption_states", "force_encryption_off"),
    ),
    "sql-weu": (azure_entry(), azure_apps("azure-"), ()),
}
"""SQL servers of the demo: read through the real reader's fetch from recorded result sets."""
CARD_CANARY = "4000 0566 5566 5556"
"""A test Visa number planted in shop's order notes: neither it nor its digits may appear in any output."""
SUBSCRIBER_CANARY = "jan.jansen.canary@example.nl"
"""The e-mail address of shop's subscriber without opt-in: it may appear in no output."""
TICKET_CANARY = "petra.de.boer.canary@example.nl"
"""A requester's e-mail address in a data-subject request's text: it may appear in no output."""
CANARIES = (CARD_CANARY, CARD_CANARY.replace(" ", ""), SUBSCRIBER_CANARY, TICKET_CANARY)
JIRA_URL = "https://lucrasoft.atlassian.net"
"""The tracker URL of demo/audit.toml; the recording config points it at the Jira emulator."""
JIRA_ENV = {"AUDIT_JIRA_USER": "auditor@example.com", "AUDIT_JIRA_TOKEN": "jira-token"}
"""The Jira emulator's default credentials, in the variables demo/audit.toml names."""
TRACKING_PAGES = ("/tracks-at-once.html", "/asks-consent.html")
"""The shop's pages: one loads analytics before consent (fail), one waits for a click (pass)."""
SHOP_DB_SETTINGS = """card_scan = ["public.orders.note", "public.orders.reference"]
newsletter = { table = "public.subscribers", opt_in_column = "opted_in" }
"""
WEBSHOP_DB_SETTINGS = """newsletter = { table = "public.newsletter", opt_in_column = "opted_in_at" }
"""
TERMINATED_APPLICATIONS = """
[[applications]]
name = "helpdesk"
server = "pg-synda"
database = "helpdesk_db"
login = "helpdesk_app"
terminated_on = 2026-08-31

[[applications]]
name = "intranet"
server = "pg-synda"
database = "intranet_db"
login = "intranet_app"
terminated_on = 2026-08-31
"""


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def plant_privacy_data(clusters: PlantedClusters) -> None:
    """Plant the 6c, 6e and 11 data of the module docstring in the two running clusters."""
    legacy, synda = clusters.planted, clusters.clean
    legacy.execute(
        "shop_db",
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, reference text)",
        "INSERT INTO public.orders (note, reference) VALUES "
        f"({_sql_text('betaald met ' + CARD_CANARY + ', graag snel leveren')}, 'ORD-2026-118734'), "
        "('bezorgen na 17:00', 'ORD-2026-118735'), (NULL, 'ORD-2026-118736')",
        "CREATE TABLE public.subscribers (id serial PRIMARY KEY, email text NOT NULL, opted_in boolean)",
        "INSERT INTO public.subscribers (email, opted_in) VALUES "
        f"({_sql_text(SUBSCRIBER_CANARY)}, false), ('klant1@example.nl', true), ('klant2@example.nl', true)",
    )
    synda.execute(
        "webshop_db",
        "CREATE TABLE public.newsletter (id serial PRIMARY KEY, email text NOT NULL, opted_in_at timestamptz)",
        "INSERT INTO public.newsletter (email, opted_in_at) VALUES "
        "('lezer1@example.nl', '2026-10-01 09:30+02'), ('lezer2@example.nl', '2026-11-12 20:15+01')",
    )
    # helpdesk: the agreement ended on 2026-08-31 and its database is still there (11 fails); on
    # the clean server, with its own closed database and login, so 12d passes it.
    synda.execute(
        "postgres",
        "CREATE ROLE helpdesk_app LOGIN PASSWORD 'app-pw-not-a-canary'",
        "CREATE DATABASE helpdesk_db",
        "REVOKE CONNECT, TEMPORARY ON DATABASE helpdesk_db FROM PUBLIC",
        "GRANT CONNECT ON DATABASE helpdesk_db TO auditor",
        "GRANT CONNECT ON DATABASE helpdesk_db TO helpdesk_app",
    )
    # intranet: its database was dropped after the agreement ended (11 passes); the login is
    # still there, reaching no database.
    synda.execute(
        "postgres",
        "CREATE ROLE intranet_app LOGIN PASSWORD 'app-pw-not-a-canary'",
        "CREATE DATABASE intranet_db",
        "DROP DATABASE intranet_db",
    )


def with_privacy_settings(postgres: str) -> str:
    """Return the clusters' `[[applications]]` with the 6c/6e settings and terminated applications added."""
    for login, settings in (("shop_app", SHOP_DB_SETTINGS), ("webshop_app", WEBSHOP_DB_SETTINGS)):
        database = login.replace("_app", "_db")
        entry = f'database = "{database}"\nlogin = "{login}"\n'
        if postgres.count(entry) != 1:
            raise RuntimeError(f"the clusters' applications no longer hold one {database} entry")
        postgres = postgres.replace(entry, entry + settings)
    return postgres + TERMINATED_APPLICATIONS


def jira_register(jira: JiraEmulator) -> None:
    """Plant the data-subject requests and incidents of the demo's register (times as of RUN_DATE)."""
    cet = timezone(timedelta(hours=1))
    jira.add_issue(  # resolved 3 working days after the day it came in: pass
        summary="Inzageverzoek klant",
        description=f"Graag een overzicht van mijn gegevens, te sturen naar {TICKET_CANARY}",
        labels=["avg-verzoek"],
        created=datetime(2026, 11, 2, 9, 15, tzinfo=cet),
        resolved=datetime(2026, 11, 5, 16, 40, tzinfo=cet),
    )
    jira.add_issue(  # resolved after 8 working days: fail
        summary="Verwijderverzoek nieuwsbriefabonnee",
        description="Verwijder alle gegevens van deze abonnee",
        labels=["avg-verzoek"],
        created=datetime(2026, 11, 9, 11, 0, tzinfo=cet),
        resolved=datetime(2026, 11, 19, 15, 5, tzinfo=cet),
    )
    for created, hours in (
        (datetime(2026, 11, 16, 8, 0, tzinfo=UTC), 5),  # notified within 24 hours: pass
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), 30),  # notified after 30 hours: fail
    ):
        incident = jira.add_issue(
            summary="Datalek: mailbox gedeeld met verkeerde klant",
            issue_type="Incident",
            labels=["klant-informeren"],
            created=created,
        )
        jira.add_history(
            incident,
            created + timedelta(hours=hours),
            [
                {
                    "field": "status",
                    "fieldId": "status",
                    "fromString": "To Do",
                    "toString": "Klant geïnformeerd",
                }
            ],
            author_email="security@lucrasoft.example",
        )


def chromium_mapping(folder: Path, tracker_host: str, port: int) -> Path:
    """Return a Chromium wrapper that maps `tracker_host` to the stand-in on loopback (for `AUDIT_CHROMIUM`)."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium found: run `apt-get install -y chromium` (6d needs it)")
    rules = f"--host-resolver-rules=MAP {tracker_host} 127.0.0.1:{port}"
    wrapper = folder / "chromium"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shlex.quote(chromium)} {shlex.quote(rules)} "$@"\n', encoding="utf-8"
    )
    wrapper.chmod(0o755)
    return wrapper


@contextmanager
def ravendb(folder: Path) -> Iterator[str]:
    """Run the RavenDB stand-in; yield its `[[databases]]` entry (client certificate, CA)."""
    pki = Pki(folder)
    server = FakeRavenDb(pki.server_ca, pki.client_ca, recorded_answers())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield (
            f'\n[[databases]]\nname = "raven01"\nengine = "ravendb"\nhost = "127.0.0.1"\n'
            f'port = {server.server_address[1]}\nclient_cert = "{pki.client_pem(AUDITOR)}"\n'
            f'ca_bundle = "{pki.ca_bundle}"\n'
        )
    finally:
        server.shutdown()
        server.server_close()


def add_recorded_sql_servers(recording_path: Path) -> None:
    """Add the demo SQL servers' catalog rows, fetched from recorded result sets, to the recording."""
    recording = Recording.load(recording_path)
    databases = dict(recording.databases or {})
    for name, (entry, applications, variants) in SQL_SERVERS.items():
        server = recorded("azure.json" if entry.engine == "azuresql" else "onprem.json", *variants)
        reader = SqlServerReader(azure=entry.engine == "azuresql", connector=server.connector)
        rows = reader.fetch(entry, applications, Policy(), "recorded-stand-in")
        databases[name] = ServerRun(entry.engine, RECORDED_AT, rows=rows).as_json()
    recording.databases = databases
    recording.save(recording_path)


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
            ExitStack() as stack,
            ArmEmulator(estate, page_size=2, faults=[FORBIDDEN_DATABASES]) as emulator,
            SshdServer(Path(scratch) / "sshd", hosts) as sshd,
            TlsServers(tls_dir) as tls,
            planted_clusters() as clusters,
            ravendb(Path(scratch)) as raven_entry,
            JiraEmulator(search_lag=0) as jira,
        ):
            valid_from, valid_until = RECORDED_AT - timedelta(days=1), RECORDED_AT + timedelta(days=365)
            plant_privacy_data(clusters)
            jira_register(jira)
            sites = TrackingSites(
                Path(scratch),
                shop_cert=issue_cert(
                    tls_dir, ca, "shop", "localhost", not_before=valid_from, not_after=valid_until
                ),
                host="localhost",
                hsts="max-age=31536000",
                modern_tls=True,
            )
            stack.enter_context(sites)
            chromium = chromium_mapping(Path(scratch), TRACKER_HOST, sites.tracker_port)
            modern = tls.nginx(
                [
                    NginxSite(
                        "modern",
                        issue_cert(
                            tls_dir, ca, "modern", "localhost", not_before=valid_from, not_after=valid_until
                        ),
                    )
                ]
            )["modern"]
            legacy = tls.openssl(
                issue_cert(tls_dir, ca, "legacy", "localhost", not_before=valid_from, not_after=valid_until),
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
            if config.count(f'url = "{JIRA_URL}"\n') != 2:
                raise RuntimeError(f"demo/audit.toml: expected both tracker registers at {JIRA_URL}")
            config = config.replace(
                f'url = "{JIRA_URL}"\n', f'url = "{jira.url}"\nca_bundle = "{jira.ca_file}"\n'
            )
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
            pages = ", ".join(f'"{page}"' for page in TRACKING_PAGES)
            config += (
                f'\n[[endpoints]]\nurl = "{sites.shop_url}"\nca_bundle = "{ca_file}"\n'
                f'pages = [{pages}]\nallowed_cookies = ["PHPSESSID"]\n'
            )
            postgres = databases_toml(clusters)
            for test_name, demo_name in PG_NAMES.items():
                postgres = postgres.replace(f'"{test_name}"', f'"{demo_name}"')
            config += with_privacy_settings(postgres) + raven_entry + RAVEN_APPLICATIONS
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
                    env={
                        **os.environ,
                        "AUDIT_AZURE_TOKEN": DEMO_TOKEN,
                        PASSWORD_ENV: AUDITOR_PASSWORD,
                        "AUDIT_CHROMIUM": str(chromium),
                        **JIRA_ENV,
                    },
                    check=False,
                )
            finally:
                recording_config.unlink()
    add_recorded_sql_servers(DEMO / "recording.json")
    return completed.returncode


if __name__ == "__main__":
    raise SystemExit(main())
