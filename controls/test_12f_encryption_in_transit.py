"""12f: all data is sent with the strongest form of encryption supported."""

from __future__ import annotations

from collections.abc import Iterable

from collectors.azure.facts import SqlServer, StorageAccount, WebApp
from collectors.config.policy import Policy
from collectors.databases.facts import SQLSERVER_SERVERS, DatabaseServer
from collectors.hosts.facts import HostFacts, SchannelProtocol
from collectors.messages import Reason, english_text
from collectors.tls.facts import KeyExchange, TlsEndpoint, classify_tls12_suite
from controls.framework import Evidence, EvidenceMissing, control
from controls.versions import tls_version
from reports.evidence import N_, Message, as_message, msg, verbatim


def tls_floor_shortfall(setting: str, value: str | None, min_tls: str, unset: Message) -> Message | None:
    """Return why the TLS floor `setting` is below policy.min_tls, or None when it is not.

    `unset` says what an absent or unreadable value means for this service.
    """
    floor = tls_version(value)
    if floor is None:
        return msg(
            "{setting} is {value}: {unset}", setting=setting, value=value or msg("not set"), unset=unset
        )
    required = tls_version(min_tls)
    assert required is not None  # validated in the config
    if floor < required:
        return msg("{setting} {value} is below {minimum}", setting=setting, value=value, minimum=min_tls)
    return None


@control("12f.azure-sql-min-tls", over="azure.sql_servers")
def test_sql_server_refuses_old_tls(server: SqlServer, policy: Policy, evidence: Evidence) -> None:
    evidence.observed(minimal_tls_version=server.minimal_tls_version)
    evidence.expected(minimal_tls_version=f">= {policy.min_tls}")
    shortfall = tls_floor_shortfall(
        "minimalTlsVersion",
        server.minimal_tls_version,
        policy.min_tls,
        msg("the server accepts any TLS version"),
    )
    assert shortfall is None, evidence.fails("{shortfall}", shortfall=shortfall)


FTPS_STATES_WITHOUT_PLAIN_FTP = ("ftpsonly", "disabled")


def web_app_name(app: WebApp) -> Message:
    """Name a web app as the messages do: "web app <name>" or "deployment slot <slot> of web app <app>"."""
    if app.slot is None:
        return msg("web app {app}", app=app.name)
    return msg(
        "deployment slot {slot} of web app {app}",
        slot=app.slot,
        app=app.app_name or app.name.split("/", 1)[0],
    )


@control("12f.azure-app-service-tls", over="azure.web_apps")
def test_web_app_accepts_only_modern_tls(app: WebApp, policy: Policy, evidence: Evidence) -> None:
    if app.slot is not None:
        evidence.observed(deployment_slot=app.slot, of_web_app=app.app_name)
    evidence.observed(
        https_only=app.https_only,
        min_tls_version=app.min_tls_version,
        scm_min_tls_version=app.scm_min_tls_version,
        ftps_state=app.ftps_state or msg("AllAllowed (not set)"),
    )
    evidence.expected(
        https_only=True,
        min_tls_version=f">= {policy.min_tls}",
        scm_min_tls_version=f">= {policy.min_tls}",
        ftps_state=msg("FtpsOnly or Disabled"),
    )
    problems: list[Message] = []
    if app.https_only is not True:
        problems.append(
            msg(
                "httpsOnly is {value}: plain HTTP is served",
                value=msg("not set") if app.https_only is None else "false",
            )
        )
    for setting, value in (
        ("minTlsVersion", app.min_tls_version),
        ("scmMinTlsVersion", app.scm_min_tls_version),
    ):
        shortfall = tls_floor_shortfall(setting, value, policy.min_tls, msg("no TLS floor is evidenced"))
        if shortfall:
            problems.append(shortfall)
    if app.ftps_state is None or app.ftps_state.lower() not in FTPS_STATES_WITHOUT_PLAIN_FTP:
        problems.append(
            msg(
                "ftpsState is {value}: plain FTP is accepted",
                value=app.ftps_state or msg("not set (AllAllowed)"),
            )
        )
    assert not problems, evidence.fails("{app}: {problems}", app=web_app_name(app), problems=problems)


@control("12f.azure-storage-tls", over="azure.storage_accounts")
def test_storage_account_accepts_only_modern_tls(
    account: StorageAccount, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(
        supports_https_traffic_only=account.https_only,
        minimum_tls_version=account.minimum_tls_version or msg("TLS1_0 (not set)"),
    )
    evidence.expected(supports_https_traffic_only=True, minimum_tls_version=f">= {policy.min_tls}")
    problems: list[Message] = []
    if account.https_only is not True:
        problems.append(
            msg(
                "supportsHttpsTrafficOnly is {value}: plain HTTP is accepted",
                value=msg("not set") if account.https_only is None else "false",
            )
        )
    shortfall = tls_floor_shortfall(
        "minimumTlsVersion",
        account.minimum_tls_version,
        policy.min_tls,
        msg("Azure's default TLS1_0 applies"),
    )
    if shortfall:
        problems.append(shortfall)
    assert not problems, evidence.fails(
        "storage account {name}: {problems}", name=account.name, problems=problems
    )


# --- Windows hosts: SCHANNEL ----------------------------------------------------------------------

SCHANNEL_RETIRED = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")
"""Server-side protocols that must be switched off (Enabled=0) or absent from the OS."""
SERVER_2016_BUILD = 14393
SERVER_2012_R2_BUILD = 9600
SERVER_2012_BUILD = 9200
SERVER_2022_BUILD = 20348
SCHANNEL_STATE_TEXTS = {
    "enabled": N_("enabled"),
    "disabled": N_("disabled"),
    "disabled by default": N_("disabled by default"),
    "not supported": N_("not supported"),
}
"""The words of each state `schannel_state` returns (catalog texts)."""


def schannel_state_text(state: str) -> Message:
    """Return a SCHANNEL protocol state (a key of SCHANNEL_STATE_TEXTS) in words."""
    return msg(SCHANNEL_STATE_TEXTS[state])


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


def schannel_state(key: SchannelProtocol, build: int) -> tuple[str, Message]:
    """Return a protocol's effective server-side state and the registry values it rests on.

    Enabled=0 disables it. DisabledByDefault≠0 (without Enabled=0) leaves it "disabled by default":
    SCHANNEL still negotiates it for any application that asks for it explicitly (legacy
    SCHANNEL_CRED protocol masks, .NET code pinning SecurityProtocolType.Tls), so for the retired
    protocols that is not off. Enabled≠0 or DisabledByDefault=0 switch it on; no values at all
    leave the OS default.
    """
    default = schannel_default(key.protocol, build)
    if default == "not supported":
        return "not supported", msg("not implemented on build {build}", build=build)
    if key.enabled == 0:
        return "disabled", verbatim("Enabled=0")
    if key.disabled_by_default not in (None, 0):
        return "disabled by default", msg(
            "DisabledByDefault={value}, Enabled {enabled}",
            value=key.disabled_by_default,
            enabled=msg("absent") if key.enabled is None else str(key.enabled),
        )
    if key.enabled is None and key.disabled_by_default is None:
        return default, msg("no registry values: Windows build {build} default", build=build)
    values = [
        f"{name}={value}"
        for name, value in (("Enabled", key.enabled), ("DisabledByDefault", key.disabled_by_default))
        if value is not None
    ]
    return "enabled", verbatim(", ".join(values))


@control("12f.host-schannel", over="hosts.windows")
def test_windows_host_refuses_old_tls(host: HostFacts, evidence: Evidence) -> None:
    if host.schannel is None:
        raise EvidenceMissing(host.missing("schannel"))
    if host.os.build is None:
        raise EvidenceMissing(
            msg(
                "host {host}: the Windows build is unknown, so the SCHANNEL defaults that apply to absent "
                "keys cannot be told ({reason})",
                host=host.name,
                reason=host.missing("os"),
            )
        )
    states = {key.protocol: schannel_state(key, host.os.build) for key in host.schannel}
    evidence.observed(
        server_protocols={
            p: msg("{state} ({why})", state=schannel_state_text(state), why=why)
            for p, (state, why) in states.items()
        }
    )
    evidence.expected(
        server_protocols={
            **dict.fromkeys(SCHANNEL_RETIRED, msg("disabled (Enabled=0) or not supported")),
            "TLS 1.2": schannel_state_text("enabled"),
        }
    )
    problems: list[Message] = []
    for protocol in SCHANNEL_RETIRED:
        if protocol not in states:
            problems.append(msg("{protocol} was not reported", protocol=protocol))
            continue
        state, why = states[protocol]
        if state == "disabled by default":
            problems.append(
                msg(
                    "{protocol} is only disabled by default ({why}): applications that ask for it still get "
                    "it; set Enabled=0",
                    protocol=protocol,
                    why=why,
                )
            )
        elif state not in ("disabled", "not supported"):
            problems.append(
                msg(
                    "{protocol} is {state} ({why})",
                    protocol=protocol,
                    state=schannel_state_text(state),
                    why=why,
                )
            )
    tls12 = states.get("TLS 1.2")
    if tls12 is None:
        problems.append(msg("{protocol} was not reported", protocol="TLS 1.2"))
    elif tls12[0] != "enabled":
        problems.append(
            msg(
                "TLS 1.2 is {state} ({why}): the strongest protocol the server supports is off",
                state=schannel_state_text(tls12[0]),
                why=tls12[1],
            )
        )
    assert not problems, evidence.fails(
        "host {host}: SCHANNEL server side: {problems}", host=host.name, problems=problems
    )


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


ACCEPTED_CURVE = "accepted curve"
"""Where a weak curve was found when the server accepts it (beside the suites whose exchange used it)."""


def weak_group_text(kind: str, group: str, bits: int) -> Message:
    """Name a weak key exchange group: a finite-field DH group (`group` names its size) or a curve."""
    if kind == "DH":
        return msg("{group} (< {minimum} bits)", group=group, minimum=MIN_DH_BITS)
    return msg("ECDH {curve} of {bits} bits (< {minimum})", curve=group, bits=bits, minimum=MIN_EC_BITS)


def weak_exchange_text(group: Message, where: set[str]) -> Message:
    """Say where a weak group is used: the suites that negotiated it, and/or among the accepted curves."""
    suites = sorted(where - {ACCEPTED_CURVE})
    if ACCEPTED_CURVE not in where:
        return msg("{group} on {suites}", group=group, suites=suites)
    if not suites:
        return msg("{group} on accepted curve", group=group)
    return msg("{group} on {suites}, accepted curve", group=group, suites=suites)


def key_exchange_findings(endpoint: TlsEndpoint) -> tuple[list[Message], list[Message]]:
    """Return (weak key exchanges, each naming its group; what could not be judged) of an endpoint.

    Every accepted suite's ephemeral key counts (a client may pick any of them), and so does
    every elliptic curve the server accepts. Not observed (a recording made before key
    exchanges were scanned, a curve scan that failed) is never read as "nothing weak".
    """
    weak: dict[tuple[str, str, int], set[str]] = {}
    unknown: list[Message] = []
    if endpoint.key_exchanges is None:
        unknown.append(msg("the key exchanges were not observed (the scan result predates them: re-record)"))
    for exchange in endpoint.key_exchanges or ():
        if exchange.kind == "DH" and exchange.bits is not None:
            if exchange.bits < MIN_DH_BITS:
                weak.setdefault(("DH", exchange.group, exchange.bits), set()).add(exchange.suite)
        elif exchange.kind == "ECDH" and exchange.bits is not None:
            if ec_strength(exchange.group, exchange.bits) < MIN_EC_BITS:
                weak.setdefault(("ECDH", exchange.group, exchange.bits), set()).add(exchange.suite)
        else:
            unknown.append(
                msg(
                    "the key exchange of {suite} ({protocol}) could not be read",
                    suite=exchange.suite,
                    protocol=exchange.protocol,
                )
            )
    if endpoint.supported_curves is None:
        unknown.append(
            as_message(endpoint.key_exchange_observation)
            if endpoint.key_exchange_observation
            else msg("the supported elliptic curves were not observed")
        )
    for curve in endpoint.supported_curves or ():
        if curve.bits is None:
            unknown.append(msg("the size of elliptic curve '{curve}' is unknown", curve=curve.name))
        elif ec_strength(curve.name, curve.bits) < MIN_EC_BITS:
            weak.setdefault(("ECDH", curve.name, curve.bits), set()).add(ACCEPTED_CURVE)
    return [weak_exchange_text(weak_group_text(*group), where) for group, where in weak.items()], unknown


def certificate_key_findings(endpoint: TlsEndpoint) -> tuple[list[Message], list[Message]]:
    """Return (weak certificate key, what could not be judged) of the server's certificate key."""
    key_type, bits = endpoint.key_type, endpoint.key_bits
    if key_type is None or bits is None:
        return [], [msg("the server's certificate key could not be read")]
    if key_type == "RSA":
        weak_rsa = msg("RSA key of {bits} bits (< {minimum})", bits=bits, minimum=MIN_RSA_BITS)
        return ([weak_rsa] if bits < MIN_RSA_BITS else []), []
    if key_type.startswith("EC "):
        weak_ec = msg("EC key of {bits} bits (< {minimum})", bits=bits, minimum=MIN_EC_BITS)
        return ([weak_ec] if bits < MIN_EC_BITS else []), []
    if key_type == "DSA":
        return [msg("DSA key (no longer allowed for TLS)")], []
    if key_type in ("Ed25519", "Ed448"):
        return [], []
    return [], [msg("certificate key type '{key_type}' cannot be judged", key_type=key_type)]


def key_exchanges_observed(exchanges: Iterable[KeyExchange]) -> list[Reason]:
    """Return each distinct key exchange seen, e.g. "TLS 1.3 ECDH X25519 (253 bits)", in the order of its English text.

    A known group is data (plain text); an exchange whose key could not be read is a message.
    """
    seen: dict[str, Reason] = {}
    for exchange in exchanges:
        described = exchange.describe()
        item: Reason = (
            f"{exchange.protocol} {described}"
            if isinstance(described, str)
            else msg("{protocol} {key_exchange}", protocol=exchange.protocol, key_exchange=described)
        )
        seen.setdefault(english_text(item), item)
    return [seen[text] for text in sorted(seen)]


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
        key=msg("{key_type} {bits} bits", key_type=endpoint.key_type, bits=endpoint.key_bits)
        if endpoint.key_type
        else None,
        key_exchanges=None
        if endpoint.key_exchanges is None
        else key_exchanges_observed(endpoint.key_exchanges),
        supported_curves=None
        if endpoint.supported_curves is None
        else [f"{c.name} ({c.bits} bits)" for c in endpoint.supported_curves],
    )
    evidence.expected(
        protocols_not_offered=refused,
        tls12_suites=msg("ECDHE/DHE key exchange with GCM, CHACHA20-POLY1305 or CCM only"),
        tls13_offered=policy.require_tls13,
        key=msg("RSA >= {rsa} bits or EC >= {ec} bits", rsa=MIN_RSA_BITS, ec=MIN_EC_BITS),
        key_exchanges=msg(
            "DH groups >= {dh} bits, elliptic curves >= {ec} bits (X25519, X448 too)",
            dh=MIN_DH_BITS,
            ec=MIN_EC_BITS,
        ),
    )
    unknown += unknown_key
    unknown += [
        msg("protocol '{protocol}' is not one the scanner tries", protocol=p)
        for p in endpoint.protocols_offered
        if p not in KNOWN_PROTOCOLS
    ]
    if not endpoint.protocols_offered:
        unknown.append(msg("no protocol version is recorded as offered"))
    for protocol, suites in (("TLS 1.2", endpoint.tls12_suites), ("TLS 1.3", endpoint.tls13_suites)):
        if (protocol in endpoint.protocols_offered) != bool(suites):
            unknown.append(msg("{protocol} offered and its accepted suites disagree", protocol=protocol))
    problems: list[Message] = []
    old = [p for p in endpoint.protocols_offered if p in refused]
    if old:
        problems.append(msg("offers {protocols}", protocols=old))
    if weak_suites:
        problems.append(
            msg("TLS 1.2 accepts suites without forward secrecy or AEAD: {suites}", suites=weak_suites)
        )
    if weak_exchanges:
        problems.append(msg("weak key exchange: {exchanges}", exchanges=weak_exchanges))
    if policy.require_tls13 and "TLS 1.3" not in endpoint.protocols_offered:
        problems.append(msg("TLS 1.3 is not offered (policy.require_tls13)"))
    problems += weak_key
    if problems and unknown:
        problems.append(msg("also not judged: {unknown}", unknown=unknown))
    if not problems and unknown:
        raise EvidenceMissing(msg("{endpoint}: {unknown}", endpoint=endpoint.target.id, unknown=unknown))
    assert not problems, evidence.fails(
        "{endpoint}: {problems}", endpoint=endpoint.target.id, problems=problems
    )


# --- 12f.sqlserver-encrypted-connections (SQL Server catalogs) --------------------------------------

LOCAL_TRANSPORTS = ("shared memory",)
"""Transports that never leave the server's own memory: listed in the evidence, not judged."""


@control("12f.sqlserver-encrypted-connections", over=SQLSERVER_SERVERS)
def test_sqlserver_encrypts_every_connection(server: DatabaseServer, evidence: Evidence) -> None:
    judged = [c for c in server.connections if c.transport.lower() not in LOCAL_TRANSPORTS]
    plain = sum(c.count for c in judged if not c.encrypted)
    encrypted = sum(c.count for c in judged if c.encrypted)
    if server.engine == "azuresql":
        force_text = msg("enforced by Azure SQL Database for every connection")
    elif server.force_encryption is None:
        force_text = msg("unknown (sys.dm_server_registry not readable)")
    else:
        force_text = msg("on") if server.force_encryption else msg("off")
    evidence.observed(
        force_encryption=force_text,
        connections=[
            {"transport": c.transport, "encrypted": c.encrypted, "count": c.count} for c in server.connections
        ],
        not_judged=None
        if len(judged) == len(server.connections)
        else msg("shared-memory connections never leave the server"),
    )
    evidence.expected(
        force_encryption=msg("on"), or_else=msg("every current network connection has encrypt_option TRUE")
    )
    assert plain == 0, evidence.fails_n(
        "SQL Server {server}: {n} current network connection is not encrypted (ForceEncryption {force})",
        "SQL Server {server}: {n} current network connections are not encrypted (ForceEncryption {force})",
        "n",
        server=server.name,
        n=plain,
        force=force_text,
    )
    if server.force_encryption:
        return
    if server.force_encryption is None and encrypted == 0:
        raise EvidenceMissing(
            msg(
                "SQL Server {server}: ForceEncryption could not be read (sys.dm_server_registry needs "
                "VIEW SERVER STATE) and no current network connection was seen (sys.dm_exec_connections)",
                server=server.name,
            )
        )
    assert encrypted > 0, evidence.fails(
        "SQL Server {server}: ForceEncryption is off, so clients may connect without encryption, "
        "and no current connection shows otherwise",
        server=server.name,
    )
