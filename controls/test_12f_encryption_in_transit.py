"""12f: all data is sent with the strongest form of encryption supported."""

from __future__ import annotations

from collectors.azure.facts import SqlServer, StorageAccount, WebApp
from collectors.config import Policy
from collectors.databases.facts import SQLSERVER_SERVERS, DatabaseServer
from collectors.hosts.facts import HostFacts, SchannelProtocol
from collectors.tls.facts import TlsEndpoint, classify_tls12_suite
from controls.framework import Evidence, EvidenceMissing, control
from controls.versions import tls_version


def tls_floor_shortfall(setting: str, value: str | None, min_tls: str, unset: str) -> str | None:
    """Return why the TLS floor `setting` is below policy.min_tls, or None when it is not.

    `unset` says what an absent or unreadable value means for this service.
    """
    floor = tls_version(value)
    if floor is None:
        return f"{setting} is {value or 'not set'}: {unset}"
    required = tls_version(min_tls)
    assert required is not None  # validated in the config
    return f"{setting} {value} is below {min_tls}" if floor < required else None


@control("12f.azure-sql-min-tls", over="azure.sql_servers")
def test_sql_server_refuses_old_tls(server: SqlServer, policy: Policy, evidence: Evidence) -> None:
    evidence.observed(minimal_tls_version=server.minimal_tls_version)
    evidence.expected(minimal_tls_version=f">= {policy.min_tls}")
    shortfall = tls_floor_shortfall(
        "minimalTlsVersion", server.minimal_tls_version, policy.min_tls, "the server accepts any TLS version"
    )
    assert shortfall is None, shortfall


FTPS_STATES_WITHOUT_PLAIN_FTP = ("ftpsonly", "disabled")


@control("12f.azure-app-service-tls", over="azure.web_apps")
def test_web_app_accepts_only_modern_tls(app: WebApp, policy: Policy, evidence: Evidence) -> None:
    if app.slot is not None:
        evidence.observed(deployment_slot=app.slot, of_web_app=app.app_name)
    evidence.observed(
        https_only=app.https_only,
        min_tls_version=app.min_tls_version,
        scm_min_tls_version=app.scm_min_tls_version,
        ftps_state=app.ftps_state or "AllAllowed (not set)",
    )
    evidence.expected(
        https_only=True,
        min_tls_version=f">= {policy.min_tls}",
        scm_min_tls_version=f">= {policy.min_tls}",
        ftps_state="FtpsOnly or Disabled",
    )
    problems: list[str] = []
    if app.https_only is not True:
        problems.append(
            f"httpsOnly is {'not set' if app.https_only is None else 'false'}: plain HTTP is served"
        )
    for setting, value in (
        ("minTlsVersion", app.min_tls_version),
        ("scmMinTlsVersion", app.scm_min_tls_version),
    ):
        shortfall = tls_floor_shortfall(setting, value, policy.min_tls, "no TLS floor is evidenced")
        if shortfall:
            problems.append(shortfall)
    if app.ftps_state is None or app.ftps_state.lower() not in FTPS_STATES_WITHOUT_PLAIN_FTP:
        problems.append(f"ftpsState is {app.ftps_state or 'not set (AllAllowed)'}: plain FTP is accepted")
    assert not problems, f"{app.label}: " + "; ".join(problems)


@control("12f.azure-storage-tls", over="azure.storage_accounts")
def test_storage_account_accepts_only_modern_tls(
    account: StorageAccount, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(
        supports_https_traffic_only=account.https_only,
        minimum_tls_version=account.minimum_tls_version or "TLS1_0 (not set)",
    )
    evidence.expected(supports_https_traffic_only=True, minimum_tls_version=f">= {policy.min_tls}")
    problems: list[str] = []
    if account.https_only is not True:
        state = "not set" if account.https_only is None else "false"
        problems.append(f"supportsHttpsTrafficOnly is {state}: plain HTTP is accepted")
    shortfall = tls_floor_shortfall(
        "minimumTlsVersion", account.minimum_tls_version, policy.min_tls, "Azure's default TLS1_0 applies"
    )
    if shortfall:
        problems.append(shortfall)
    assert not problems, f"storage account {account.name}: " + "; ".join(problems)


# --- Windows hosts: SCHANNEL ----------------------------------------------------------------------

SCHANNEL_RETIRED = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")
"""Server-side protocols that must be switched off (Enabled=0) or absent from the OS."""
SERVER_2016_BUILD = 14393
SERVER_2012_R2_BUILD = 9600
SERVER_2012_BUILD = 9200
SERVER_2022_BUILD = 20348


def schannel_default(protocol: str, build: int) -> str:
    """Return what a Windows build does with a protocol when its SCHANNEL keys are absent.

    "enabled", "disabled" or "not supported", per Microsoft's "Protocols in TLS/SSL (Schannel SSP)"
    table: TLS 1.0 and 1.1 are enabled by default on every Windows Server up to and including 2025
    (and are assumed enabled on any build this table does not know: fail closed); SSL 3.0 is
    enabled up to 2012 R2; SSL 2.0 is disabled on 2012 R2 and gone from 2016; TLS 1.3 exists from
    Server 2022.
    """
    if protocol == "SSL 2.0":
        if build >= SERVER_2016_BUILD:
            return "not supported"
        return "disabled" if build >= SERVER_2012_R2_BUILD else "enabled"
    if protocol == "SSL 3.0":
        return "disabled" if build >= SERVER_2016_BUILD else "enabled"
    if protocol == "TLS 1.2":
        return "enabled" if build >= SERVER_2012_BUILD else "disabled"
    if protocol == "TLS 1.3":
        return "enabled" if build >= SERVER_2022_BUILD else "not supported"
    return "enabled"


def schannel_state(key: SchannelProtocol, build: int) -> tuple[str, str]:
    """Return a protocol's effective server-side state and the registry values it rests on.

    Enabled=0 disables it. DisabledByDefault≠0 (without Enabled=0) leaves it "disabled by default":
    SCHANNEL still negotiates it for any application that asks for it explicitly (legacy
    SCHANNEL_CRED protocol masks, .NET code pinning SecurityProtocolType.Tls), so for the retired
    protocols that is not off. Enabled≠0 or DisabledByDefault=0 switch it on; no values at all
    leave the OS default.
    """
    default = schannel_default(key.protocol, build)
    if default == "not supported":
        return "not supported", f"not implemented on build {build}"
    if key.enabled == 0:
        return "disabled", "Enabled=0"
    if key.disabled_by_default not in (None, 0):
        shown = "absent" if key.enabled is None else str(key.enabled)
        return "disabled by default", f"DisabledByDefault={key.disabled_by_default}, Enabled {shown}"
    if key.enabled is None and key.disabled_by_default is None:
        return default, f"no registry values: Windows build {build} default"
    values = [
        f"{name}={value}"
        for name, value in (("Enabled", key.enabled), ("DisabledByDefault", key.disabled_by_default))
        if value is not None
    ]
    return "enabled", ", ".join(values)


@control("12f.host-schannel", over="hosts.windows")
def test_windows_host_refuses_old_tls(host: HostFacts, evidence: Evidence) -> None:
    if host.schannel is None:
        raise EvidenceMissing(host.missing("schannel"))
    if host.os.build is None:
        raise EvidenceMissing(
            f"host {host.name}: the Windows build is unknown, so the SCHANNEL defaults that apply to absent "
            f"keys cannot be told ({host.missing('os')})"
        )
    states = {key.protocol: schannel_state(key, host.os.build) for key in host.schannel}
    evidence.observed(server_protocols={p: f"{state} ({why})" for p, (state, why) in states.items()})
    evidence.expected(
        server_protocols={
            **dict.fromkeys(SCHANNEL_RETIRED, "disabled (Enabled=0) or not supported"),
            "TLS 1.2": "enabled",
        }
    )
    problems: list[str] = []
    for protocol in SCHANNEL_RETIRED:
        if protocol not in states:
            problems.append(f"{protocol} was not reported")
            continue
        state, why = states[protocol]
        if state == "disabled by default":
            problems.append(
                f"{protocol} is only disabled by default ({why}): applications that ask for it still get it; "
                "set Enabled=0"
            )
        elif state not in ("disabled", "not supported"):
            problems.append(f"{protocol} is {state} ({why})")
    tls12 = states.get("TLS 1.2")
    if tls12 is None:
        problems.append("TLS 1.2 was not reported")
    elif tls12[0] != "enabled":
        problems.append(
            f"TLS 1.2 is {tls12[0]} ({tls12[1]}): the strongest protocol the server supports is off"
        )
    assert not problems, f"host {host.name}: SCHANNEL server side: " + "; ".join(problems)


# --- TLS endpoints, scanned from the auditor's vantage point --------------------------------------

RETIRED_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")
"""Refused whatever policy.min_tls says."""
CURRENT_PROTOCOLS = {"TLS 1.2": (1, 2), "TLS 1.3": (1, 3)}
"""The other protocols the scanner tries, by version: refused when below policy.min_tls."""
KNOWN_PROTOCOLS = (*RETIRED_PROTOCOLS, *CURRENT_PROTOCOLS)
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
MIN_DH_BITS = 2048
"""Finite-field DH groups below 2048 bits are the Logjam class (testssl.sh, BSI TR-02102-2 and NIST
SP 800-52r2 all ask for at least 2048); elliptic curves below 256 bits fail likewise."""
EC_STRENGTH_BITS = {"X25519": 256, "X448": 448}
"""Curves judged by their security level, not the size OpenSSL reports (X25519: 253 bits): RFC 7748
section 4.1 puts curve25519 at the ~128-bit level of a 256-bit curve, section 4.2 curve448 at ~224."""


def ec_strength(curve: str, bits: int) -> int:
    """Return the size a curve counts as against MIN_EC_BITS (its reported bits, X25519/X448 by level)."""
    return EC_STRENGTH_BITS.get(curve, bits)


def key_exchange_findings(endpoint: TlsEndpoint) -> tuple[list[str], list[str]]:
    """Return (weak key exchanges, each naming its group; what could not be judged) of an endpoint.

    Every accepted suite's ephemeral key counts (a client may pick any of them), and so does
    every elliptic curve the server accepts. Not observed (a recording made before key
    exchanges were scanned, a curve scan that failed) is never read as "nothing weak".
    """
    weak: dict[str, list[str]] = {}
    unknown: list[str] = []
    if endpoint.key_exchanges is None:
        unknown.append("the key exchanges were not observed (the scan result predates them: re-record)")
    for exchange in endpoint.key_exchanges or ():
        if exchange.kind == "DH" and exchange.bits is not None:
            if exchange.bits < MIN_DH_BITS:
                weak.setdefault(f"{exchange.group} (< {MIN_DH_BITS} bits)", []).append(exchange.suite)
        elif exchange.kind == "ECDH" and exchange.bits is not None:
            if ec_strength(exchange.group, exchange.bits) < MIN_EC_BITS:
                label = f"ECDH {exchange.group} of {exchange.bits} bits (< {MIN_EC_BITS})"
                weak.setdefault(label, []).append(exchange.suite)
        else:
            unknown.append(f"the key exchange of {exchange.suite} ({exchange.protocol}) could not be read")
    if endpoint.supported_curves is None:
        unknown.append(endpoint.key_exchange_observation or "the supported elliptic curves were not observed")
    for curve in endpoint.supported_curves or ():
        if curve.bits is None:
            unknown.append(f"the size of elliptic curve {curve.name!r} is unknown")
        elif ec_strength(curve.name, curve.bits) < MIN_EC_BITS:
            weak.setdefault(f"ECDH {curve.name} of {curve.bits} bits (< {MIN_EC_BITS})", []).append(
                "accepted curve"
            )
    return [f"{group} on {', '.join(sorted(set(where)))}" for group, where in weak.items()], unknown


def certificate_key_findings(endpoint: TlsEndpoint) -> tuple[list[str], list[str]]:
    """Return (weak certificate key, what could not be judged) of the server's certificate key."""
    key_type, bits = endpoint.key_type, endpoint.key_bits
    if key_type is None or bits is None:
        return [], ["the server's certificate key could not be read"]
    if key_type == "RSA":
        return ([f"RSA key of {bits} bits (< {MIN_RSA_BITS})"] if bits < MIN_RSA_BITS else []), []
    if key_type.startswith("EC "):
        return ([f"EC key of {bits} bits (< {MIN_EC_BITS})"] if bits < MIN_EC_BITS else []), []
    if key_type == "DSA":
        return ["DSA key (no longer allowed for TLS)"], []
    if key_type in ("Ed25519", "Ed448"):
        return [], []
    return [], [f"certificate key type {key_type!r} cannot be judged"]


@control("12f.endpoint-tls", over="tls.endpoints")
def test_endpoint_speaks_only_strong_tls(endpoint: TlsEndpoint, policy: Policy, evidence: Evidence) -> None:
    required = tls_version(policy.min_tls)
    assert required is not None  # validated in the config
    refused = [*RETIRED_PROTOCOLS, *(p for p, version in CURRENT_PROTOCOLS.items() if version < required)]
    # Judged by the suite's name, not by flags a recording carries alongside it.
    weak_suites = [
        s.name
        for s in endpoint.tls12_suites
        if not (c := classify_tls12_suite(s.name)).forward_secret or not c.aead
    ]
    weak_exchanges, unknown = key_exchange_findings(endpoint)
    weak_key, unknown_key = certificate_key_findings(endpoint)
    evidence.observed(
        protocols_offered=list(endpoint.protocols_offered),
        tls12_suites=[s.name for s in endpoint.tls12_suites],
        tls12_suites_not_forward_secret_aead=weak_suites,
        tls13_suites=list(endpoint.tls13_suites),
        key=f"{endpoint.key_type} {endpoint.key_bits} bits" if endpoint.key_type else None,
        key_exchanges=None
        if endpoint.key_exchanges is None
        else sorted({f"{e.protocol} {e.describe()}" for e in endpoint.key_exchanges}),
        supported_curves=None
        if endpoint.supported_curves is None
        else [f"{c.name} ({c.bits} bits)" for c in endpoint.supported_curves],
    )
    evidence.expected(
        protocols_not_offered=refused,
        tls12_suites="ECDHE/DHE key exchange with GCM, CHACHA20-POLY1305 or CCM only",
        tls13_offered=policy.require_tls13,
        key=f"RSA >= {MIN_RSA_BITS} bits or EC >= {MIN_EC_BITS} bits",
        key_exchanges=f"DH groups >= {MIN_DH_BITS} bits, elliptic curves >= {MIN_EC_BITS} bits (X25519, X448 too)",
    )
    unknown += unknown_key
    unknown += [
        f"protocol {p!r} is not one the scanner tries"
        for p in endpoint.protocols_offered
        if p not in KNOWN_PROTOCOLS
    ]
    if not endpoint.protocols_offered:
        unknown.append("no protocol version is recorded as offered")
    for protocol, suites in (("TLS 1.2", endpoint.tls12_suites), ("TLS 1.3", endpoint.tls13_suites)):
        if (protocol in endpoint.protocols_offered) != bool(suites):
            unknown.append(f"{protocol} offered and its accepted suites disagree")
    problems: list[str] = []
    old = [p for p in endpoint.protocols_offered if p in refused]
    if old:
        problems.append(f"offers {', '.join(old)}")
    if weak_suites:
        problems.append(f"TLS 1.2 accepts suites without forward secrecy or AEAD: {', '.join(weak_suites)}")
    if weak_exchanges:
        problems.append(f"weak key exchange: {'; '.join(weak_exchanges)}")
    if policy.require_tls13 and "TLS 1.3" not in endpoint.protocols_offered:
        problems.append("TLS 1.3 is not offered (policy.require_tls13)")
    problems += weak_key
    if problems and unknown:
        problems.append(f"also not judged: {'; '.join(unknown)}")
    if not problems and unknown:
        raise EvidenceMissing(f"{endpoint.target.id}: " + "; ".join(unknown))
    assert not problems, f"{endpoint.target.id}: " + "; ".join(problems)


# --- 12f.sqlserver-encrypted-connections (SQL Server catalogs) --------------------------------------

LOCAL_TRANSPORTS = ("shared memory",)
"""Transports that never leave the server's own memory: listed in the evidence, not judged."""


@control("12f.sqlserver-encrypted-connections", over=SQLSERVER_SERVERS)
def test_sqlserver_encrypts_every_connection(server: DatabaseServer, evidence: Evidence) -> None:
    judged = [c for c in server.connections if c.transport.lower() not in LOCAL_TRANSPORTS]
    plain = sum(c.count for c in judged if not c.encrypted)
    encrypted = sum(c.count for c in judged if c.encrypted)
    if server.engine == "azuresql":
        force_text = "enforced by Azure SQL Database for every connection"
    else:
        force_text = {True: "on", False: "off", None: "unknown (sys.dm_server_registry not readable)"}[
            server.force_encryption
        ]
    evidence.observed(
        force_encryption=force_text,
        connections=[
            {"transport": c.transport, "encrypted": c.encrypted, "count": c.count} for c in server.connections
        ],
        not_judged=None
        if len(judged) == len(server.connections)
        else "shared-memory connections never leave the server",
    )
    evidence.expected(
        force_encryption="on", or_else="every current network connection has encrypt_option TRUE"
    )
    assert plain == 0, (
        f"SQL Server {server.name}: {plain} current network connection(s) are not encrypted "
        f"(ForceEncryption {force_text})"
    )
    if server.force_encryption:
        return
    if server.force_encryption is None and encrypted == 0:
        raise EvidenceMissing(
            f"SQL Server {server.name}: ForceEncryption could not be read (sys.dm_server_registry needs "
            "VIEW SERVER STATE) and no current network connection was seen (sys.dm_exec_connections)"
        )
    assert encrypted > 0, (
        f"SQL Server {server.name}: ForceEncryption is off, so clients may connect without encryption, "
        "and no current connection shows otherwise"
    )
