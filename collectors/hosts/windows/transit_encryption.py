"""The schannel and sql_server sections: which TLS/SSL protocols SCHANNEL allows, and whether SQL Server forces encryption.

A null SCHANNEL registry value means the key is absent and the build's documented default applies
(judged in controls/test_12f_encryption_in_transit.py).
"""

from __future__ import annotations

from collectors.hosts.facts import SchannelProtocol
from collectors.hosts.windows.shapes import ShapeError, as_int, as_object, as_text, present, required_list

SCHANNEL_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")


def read_schannel(raw: object) -> tuple[SchannelProtocol, ...]:
    rows = {}
    for item in required_list(as_object(raw, "schannel"), "server", "SCHANNEL"):
        row = as_object(item, "SCHANNEL protocol")
        protocol = as_text(row.get("protocol"))
        if protocol not in SCHANNEL_PROTOCOLS:
            raise ShapeError(f"unknown SCHANNEL protocol {protocol!r}")
        # null: the registry value is absent, and the build's documented default applies (the
        # control judges it); a missing key means the script did not answer.
        what = f"SCHANNEL {protocol}"
        rows[protocol] = SchannelProtocol(
            protocol,
            as_int(present(row, "enabled", what)),
            as_int(present(row, "disabled_by_default", what)),
        )
    missing = [p for p in SCHANNEL_PROTOCOLS if p not in rows]
    if missing:
        raise ShapeError(f"no answer for {', '.join(missing)}")
    return tuple(rows[p] for p in SCHANNEL_PROTOCOLS)


def read_sql_force_encryption(raw: object) -> bool | None:
    """Return True when every SQL Server instance forces encryption; None when no instance exists."""
    instances = [
        as_object(i, "SQL Server instance")
        for i in required_list(as_object(raw, "sql_server"), "instances", "the SQL Server settings")
    ]
    if not instances:
        return None
    # ForceEncryption absent means 0 (off), which is SQL Server's default.
    return all(as_int(i.get("force_encryption")) == 1 for i in instances)
