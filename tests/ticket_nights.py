"""Nightly evidence bundles as literals shaped like real evidence.json results, for the ticket tests.

API (shared with the other ticket backends' tests):

- `result(control, resource, status, message="")` -> one `results[]` entry (title, clause,
  severity, nodeid, sources... filled in like a real run).
- `bundle(run_date, results)` -> an evidence.json-shaped dict (`run`, `controls`, `results`,
  `summary`) with the demo's two subscriptions and hosts in `run.scope`.
- `storage(name, subscription=PROD)` -> an ARM storage account id.
- `SCENARIO` / `scenario_nights(start)` -> the issue's seven nights for control
  `STORAGE_CONTROL` in subscription PROD: fail {a, b}, fail {a, b}, fail {a, b, c}, pass, pass,
  pass, fail {a}; as (date, bundle) pairs on consecutive days from `start`. Every night also has
  a passing control so passing scopes are always present.
- `mass_failure(run_date, count=30)` -> `count` new failing control x scope problems at once.
- `hostile(run_date)` -> a failing storage account whose id and message carry markup, mentions,
  links and HTML (`HOSTILE_NAME`).
- `erroring(run_date)` -> a night with one error result and one failure.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

PROD = "11111111-1111-4111-8111-111111111111"
DEV = "22222222-2222-4222-8222-222222222222"
STORAGE_CONTROL = "12f.azure-storage-tls"
PASSING_CONTROL = "12e.azure-storage-encryption"
HOSTILE_NAME = "st@alice-[x](https://evil.example)-<img src=x onerror=alert(1)>-*b*_|#1`"

_TITLES = {
    "12f.azure-storage-tls": ("12f", "Storage accounts accept TLS 1.2 or newer only", "high"),
    "12e.azure-storage-encryption": ("12e", "Storage accounts encrypt data at rest", "high"),
    "12b.host-firewall": ("12b", "Host firewall is on", "high"),
}


def storage(name: str, subscription: str = PROD) -> str:
    """Return the ARM id of storage account `name` in `subscription`."""
    return f"/subscriptions/{subscription}/resourceGroups/rg-web/providers/Microsoft.Storage/storageAccounts/{name}"


def result(control: str, resource: str, status: str, message: str = "") -> dict[str, Any]:
    """Return one evidence.json result for `control` on `resource` with `status`."""
    clause, title, severity = _TITLES.get(control, (control.split(".", 1)[0], f"Control {control}", "medium"))
    return {
        "clause": clause,
        "control": control,
        "duration_seconds": 0.001,
        "expected": {"minimum_tls_version": "TLS1_2"},
        "message": message or ("minimum_tls_version = 'TLS1_0'" if status == "fail" else ""),
        "nodeid": f"controls/test_x.py::test_{control}[{resource}]",
        "observed": {},
        "resource": resource,
        "severity": severity,
        "sources": [
            {
                "api_version": "2023-05-01",
                "call": f"GET https://management.azure.com{resource}?api-version=2023-05-01",
                "collected_at": "2026-11-29T04:26:18.686096Z",
                "collector": "azure.arm",
                "sha256": "0" * 64,
                "status": 200,
            }
        ],
        "status": status,
        "title": title,
        "waiver": None,
    }


def bundle(run_date: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Return an evidence.json-shaped bundle of `results` for the run of `run_date`."""
    controls = []
    for control in sorted({r["control"] for r in results}):
        clause, title, severity = _TITLES.get(
            control, (control.split(".", 1)[0], f"Control {control}", "medium")
        )
        controls.append(
            {
                "id": control,
                "clause": clause,
                "title": title,
                "severity": severity,
                "iso27001": ["A.8.24"],
                "pass_condition": "minimum TLS version 1.2",
                "clause_text_nl": "Data wordt versleuteld verstuurd.",
                "clause_text_en": "Data is sent encrypted.",
                "counts": {},
            }
        )
    return {
        "schema_version": "1",
        "run": {
            "run_date": run_date,
            "started_at": f"{run_date}T02:00:00Z",
            "scope": {
                "azure": {
                    "subscriptions": [
                        {"id": PROD, "name": "Lucrasoft Production", "state": "Enabled"},
                        {"id": DEV, "name": "Lucrasoft Development", "state": "Enabled"},
                    ]
                },
                "hosts": {"hosts": ["web01", "web02", "lnx01"], "in_error": []},
            },
        },
        "controls": controls,
        "results": results,
        "summary": {},
    }


SCENARIO: tuple[frozenset[str], ...] = (
    frozenset({"a", "b"}),
    frozenset({"a", "b"}),
    frozenset({"a", "b", "c"}),
    frozenset(),
    frozenset(),
    frozenset(),
    frozenset({"a"}),
)
"""The failing storage accounts of each night (of a, b, c, d)."""


def night(run_date: str, failing: frozenset[str]) -> dict[str, Any]:
    """Return a night where the storage accounts in `failing` fail STORAGE_CONTROL and the rest pass."""
    results = [
        result(STORAGE_CONTROL, storage(f"st{name}"), "fail" if name in failing else "pass")
        for name in "abcd"
    ]
    results += [result(PASSING_CONTROL, storage(f"st{name}"), "pass") for name in "abcd"]
    return bundle(run_date, results)


def scenario_nights(start: date) -> list[tuple[date, dict[str, Any]]]:
    """Return the seven scenario nights as (date, bundle) on consecutive days from `start`."""
    nights = []
    for offset, failing in enumerate(SCENARIO):
        day = start + timedelta(days=offset)
        nights.append((day, night(day.isoformat(), failing)))
    return nights


def mass_failure(run_date: str, count: int = 30) -> dict[str, Any]:
    """Return a night with `count` distinct failing control x scope problems ."""
    results = [result(f"12b.mass-{index:02d}", storage(f"st{index:02d}"), "fail") for index in range(count)]
    return bundle(run_date, results)


def hostile(run_date: str) -> dict[str, Any]:
    """Return a night whose failing resource id and message carry markup, mentions, links and HTML."""
    resource = storage(HOSTILE_NAME)
    message = "owner @bob said see [here](https://evil.example) <script>alert(1)</script> | ## heading"
    return bundle(run_date, [result(STORAGE_CONTROL, resource, "fail", message)])


def erroring(run_date: str) -> dict[str, Any]:
    """Return a night with one failure and one error result in another subscription."""
    return bundle(
        run_date,
        [
            result(STORAGE_CONTROL, storage("sta"), "fail"),
            result(STORAGE_CONTROL, storage("stz", DEV), "error", "HTTP 403 AuthorizationFailed"),
        ],
    )
