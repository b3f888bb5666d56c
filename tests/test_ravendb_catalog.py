"""RavenDB catalogs over real HTTPS with client certificates (Python ssl, CERT_REQUIRED, trustme).

A local server plays RavenDB: it requires a client certificate signed by its client CA, answers
403 (RavenDB's way) for a certificate it does not know, and serves the recorded REST responses in
demo/standins/database_recordings/ravendb/.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry, MessageRetention
from collectors.config.policy import Policy
from collectors.databases.facts import DatabaseServer, Login
from collectors.databases.ravendb import READER, UNSUPPORTED_PASSWORD_COLUMNS, UNSUPPORTED_RETENTION
from collectors.databases.reading import CatalogError, ServerReading
from demo.standins.recorded_databases import AUDITOR, FakeRavenDb, Pki, recorded_answers

SHOP_WEB = "3F2A9C1B7D8E6F5A4B3C2D1E0F9A8B7C6D5E4F3A"
SYNDA_WORKER = "7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D"
LEGACY_IMPORT = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def raven(pki: Pki) -> Iterator[FakeRavenDb]:
    server = FakeRavenDb(pki.server_ca, pki.client_ca, recorded_answers())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def entry(server: FakeRavenDb, pki: Pki, cert: Path, key: Path | None = None) -> DatabaseServerEntry:
    return DatabaseServerEntry(
        name="raven01",
        engine="ravendb",
        host="127.0.0.1",
        port=server.server_address[1],
        client_cert=cert,
        client_key=key,
        ca_bundle=pki.ca_bundle,
        timeout_seconds=5,
    )


APPS = [
    ApplicationEntry(name="shop", server="raven01", database="Shop", certificate=SHOP_WEB.lower()),
    ApplicationEntry(
        name="synda",
        server="raven01",
        database="Synda",
        certificate=SYNDA_WORKER,
        password_columns=["Users.Users.Password"],
        retention=MessageRetention(delivered_query="x", failed_query="y"),
    ),
    ApplicationEntry(name="import", server="raven01", database="Shop", certificate=LEGACY_IMPORT),
]


def read(config: DatabaseServerEntry) -> ServerReading:
    rows = READER.fetch(config, APPS, Policy(), None)
    replayed = json.loads(json.dumps(rows))
    return READER.parse(config, APPS, replayed, datetime(2026, 11, 29, tzinfo=UTC))


def login(server: DatabaseServer, thumbprint: str) -> Login:
    found = server.login(thumbprint)
    assert found is not None
    return found


def test_databases_carry_their_encryption_from_the_database_list(raven: FakeRavenDb, pki: Pki) -> None:
    facts = read(entry(raven, pki, pki.client_pem(AUDITOR))).server
    assert [(d.name, d.encrypted, d.encryption_state) for d in facts.databases] == [
        ("Shop", True, "Encrypted: true"),
        ("Synda", False, "Encrypted: false"),
    ]
    assert [path for path, _, _ in raven.seen] == ["/databases", "/admin/certificates"]
    assert all(query == "start=0&pageSize=1024" for _, query, _ in raven.seen)


def test_application_certificate_reaches_only_its_permitted_database(raven: FakeRavenDb, pki: Pki) -> None:
    facts = read(entry(raven, pki, pki.client_pem(AUDITOR))).server
    shop = login(facts, SHOP_WEB)
    assert (shop.kind, shop.display_name, shop.server_privileges) == ("certificate", "shop-web", ())
    assert [(a.database, a.via, a.roles) for a in shop.databases] == [
        ("Shop", "certificate permission", ("ReadWrite",))
    ]


def test_certificate_with_permissions_on_two_databases_reaches_both(raven: FakeRavenDb, pki: Pki) -> None:
    facts = read(entry(raven, pki, pki.client_pem(AUDITOR))).server
    worker = login(facts, SYNDA_WORKER)
    assert [(a.database, a.roles) for a in worker.databases] == [
        ("Shop", ("Read",)),
        ("Synda", ("ReadWrite",)),
    ]


def test_cluster_admin_application_certificate_is_privileged_everywhere(raven: FakeRavenDb, pki: Pki) -> None:
    facts = read(entry(raven, pki, pki.client_pem(AUDITOR))).server
    legacy = login(facts, LEGACY_IMPORT)
    assert legacy.server_privileges == ("ClusterAdmin",)
    assert legacy.is_server_admin
    assert legacy.reaches() == ("Shop", "Synda")
    operator = next(x for x in facts.logins if x.display_name == AUDITOR)
    assert operator.server_privileges == ("Operator",)
    assert not operator.is_server_admin


def test_application_thumbprints_compare_in_upper_case(raven: FakeRavenDb, pki: Pki) -> None:
    facts = read(entry(raven, pki, pki.client_pem(AUDITOR))).server
    assert ("shop", SHOP_WEB) in facts.application_logins


def test_password_columns_and_retention_are_errors_on_ravendb(raven: FakeRavenDb, pki: Pki) -> None:
    reading = read(entry(raven, pki, pki.client_pem(AUDITOR)))
    assert reading.password_columns == {("synda", "Users.Users.Password"): UNSUPPORTED_PASSWORD_COLUMNS}
    assert reading.message_stores == {"synda": UNSUPPORTED_RETENTION}


def test_separate_certificate_and_key_files_work(raven: FakeRavenDb, pki: Pki) -> None:
    cert, key = pki.client_pair(AUDITOR)
    assert len(read(entry(raven, pki, cert, key)).server.databases) == 2


def test_certificate_from_another_ca_is_refused_at_the_handshake(raven: FakeRavenDb, pki: Pki) -> None:
    foreign = pki.client_pem(AUDITOR, ca=trustme.CA())
    with pytest.raises(CatalogError, match=r"raven01: GET https://127\.0\.0\.1:\d+/databases failed"):
        read(entry(raven, pki, foreign))


def test_unknown_client_certificate_gets_403_and_an_error(raven: FakeRavenDb, pki: Pki) -> None:
    with pytest.raises(CatalogError, match="answered HTTP 403: The supplied client certificate"):
        read(entry(raven, pki, pki.client_pem("intruder")))


def test_missing_client_certificate_file_is_an_error_naming_it(raven: FakeRavenDb, pki: Pki) -> None:
    missing = pki.folder / "nowhere.pem"
    with pytest.raises(CatalogError, match=r"the client certificate .*nowhere\.pem could not be loaded"):
        read(entry(raven, pki, missing))


def test_server_certificate_not_from_the_configured_ca_is_refused(raven: FakeRavenDb, pki: Pki) -> None:
    config = entry(raven, pki, pki.client_pem(AUDITOR))
    other = pki.folder / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(CatalogError, match=r"CERTIFICATE_VERIFY_FAILED"):
        read(config.model_copy(update={"ca_bundle": other}))


def test_certificates_forbidden_to_a_valid_user_auditor_is_an_error(raven: FakeRavenDb, pki: Pki) -> None:
    raven.answers.pop("/admin/certificates")
    with pytest.raises(
        CatalogError, match=r"/admin/certificates answered HTTP 404 \(reading certificates needs Operator"
    ):
        read(entry(raven, pki, pki.client_pem(AUDITOR)))


def test_database_without_an_encryption_flag_is_unknown(raven: FakeRavenDb, pki: Pki) -> None:
    raven.answers["/databases"] = {"Databases": [{"Name": "Odd", "Disabled": False}]}
    facts = read(entry(raven, pki, pki.client_pem(AUDITOR))).server
    odd = next(d for d in facts.databases if d.name == "Odd")
    assert (odd.encrypted, odd.encryption_state) == (None, None)


def test_application_database_the_server_does_not_list_has_unknown_encryption(
    raven: FakeRavenDb, pki: Pki
) -> None:
    """Was a silent loss: an emptied database list made 12e.ravendb-encryption not applicable."""
    raven.answers["/databases"] = {"Databases": []}
    facts = read(entry(raven, pki, pki.client_pem(AUDITOR))).server
    assert [(d.name, d.encrypted, d.encryption_state) for d in facts.databases] == [
        ("Shop", None, None),
        ("Synda", None, None),
    ]
