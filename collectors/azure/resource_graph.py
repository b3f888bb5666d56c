"""Azure Resource Graph: bulk reads of many subscriptions in a few paged queries.

Used for what only Resource Graph has (VM patch assessments) and, with
`[azure] use_resource_graph = true`, to list whole resource types at once instead of one
ARM list per subscription and type. Pages follow `$skipToken`; the per-user quota headers
are respected (a query waits for `x-ms-user-quota-resets-after` when none is left).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from collectors.azure.arm import ArmReader, Fetched, MalformedAnswer, quota_reset_seconds
from collectors.messages import Reason
from reports.evidence import Source, msg

SUBSCRIPTIONS_PER_QUERY = 1000
PAGE_SIZE = 1000
M = TypeVar("M")


@dataclasses.dataclass(frozen=True)
class GraphRows:
    """The rows of one Resource Graph query and the sources (one per page) they came from."""

    rows: list[dict[str, Any]]
    sources: tuple[Source, ...]


class ResourceGraph:
    """Runs Resource Graph queries over the subscriptions in scope."""

    def __init__(self, arm: ArmReader, page_size: int = PAGE_SIZE) -> None:
        self.arm = arm
        self.page_size = page_size
        self.client = ResourceGraphClient(arm.credential, **arm.client_options())

    def query(self, kql: str, subscriptions: Sequence[str]) -> GraphRows:
        """Return every row of `kql` over `subscriptions`, following all pages.

        SDK errors propagate: the caller decides which items become `error`.
        """
        rows: list[dict[str, Any]] = []
        sources: list[Source] = []
        for start in range(0, len(subscriptions), SUBSCRIPTIONS_PER_QUERY):
            batch = list(subscriptions[start : start + SUBSCRIPTIONS_PER_QUERY])
            skip_token: str | None = None
            while True:
                options = QueryRequestOptions(
                    top=self.page_size, skip_token=skip_token, result_format="objectArray"
                )
                fetched, headers = self._page(QueryRequest(subscriptions=batch, query=kql, options=options))
                response = fetched.value
                rows.extend(_rows_of(response, fetched))
                described = f" | query: {kql} | subscriptions: {len(batch)}"
                sources.extend(dataclasses.replace(s, call=s.call + described) for s in fetched.sources)
                self._respect_quota(headers)
                skip_token = getattr(response, "skip_token", None)
                if skip_token is not None and not isinstance(skip_token, str):
                    raise MalformedAnswer(_call_of(fetched), msg("$skipToken is not text"))
                if not skip_token:
                    break
        return GraphRows(rows=rows, sources=tuple(sources))

    def _page(self, request: QueryRequest) -> tuple[Fetched, dict[str, str]]:
        headers: dict[str, str] = {}

        def keep_headers(pipeline_response: Any, deserialized: Any, _: Any) -> Any:
            headers.update(pipeline_response.http_response.headers)
            return deserialized

        fetched = self.arm.fetch(
            lambda hook: self.client.resources(request, cls=keep_headers, raw_response_hook=hook)
        )
        return fetched, headers

    def _respect_quota(self, headers: dict[str, str]) -> None:
        remaining = headers.get("x-ms-user-quota-remaining")
        resets = headers.get("x-ms-user-quota-resets-after")
        if remaining is not None and remaining.strip() == "0" and resets and not self.arm.replaying:
            time.sleep(quota_reset_seconds(resets) or 0.0)


def _call_of(fetched: Fetched) -> str:
    call = (
        fetched.sources[-1].call if fetched.sources else "POST /providers/Microsoft.ResourceGraph/resources"
    )
    method, _, url = call.partition(" ")
    path = url.split("?", 1)[0]
    return f"{method} /{path.split('://', 1)[-1].partition('/')[2]}" if "://" in path else call


def _rows_of(response: Any, fetched: Fetched) -> list[dict[str, Any]]:
    """Return the rows of a query answer (objectArray): a list of JSON objects, or MalformedAnswer."""
    data = getattr(response, "data", None)
    if not isinstance(data, list):
        raise MalformedAnswer(
            _call_of(fetched), msg("data is {type}, not a list of rows", type=type(data).__name__)
        )
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise MalformedAnswer(
                _call_of(fetched),
                msg("row {index} is {type}, not an object", index=index, type=type(row).__name__),
            )
    return data


def models_from_rows(rows: Iterable[dict[str, Any]], model: Callable[..., M]) -> list[M]:
    """Return SDK models built from Resource Graph rows, so both read paths share one parser.

    Hybrid (TypeSpec) models take the row as their mapping; classic msrest models deserialize it.
    """
    deserialize = getattr(model, "deserialize", None)
    if deserialize is not None:
        return [deserialize(row) for row in rows]
    return [model(row) for row in rows]


class GraphInventory:
    """Resources listed in bulk by Resource Graph, looked up by scope and type."""

    def __init__(self, types: Iterable[str], result: GraphRows | None, failure: Reason | None = None) -> None:
        self.types = frozenset(t.lower() for t in types)
        self.failure = failure
        self.sources = result.sources if result else ()
        self._by_type: dict[str, list[dict[str, Any]]] = {}
        for row in result.rows if result else []:
            self._by_type.setdefault(str(row.get("type", "")).lower(), []).append(row)

    def covers(self, resource_type: str) -> bool:
        """Return True when this inventory was asked for `resource_type`."""
        return resource_type.lower() in self.types

    def rows(self, scope: str, resource_type: str) -> list[dict[str, Any]]:
        """Return the rows of `resource_type` whose id lies directly or deeply under `scope`."""
        prefix = scope.rstrip("/").lower() + "/"
        return [
            r
            for r in self._by_type.get(resource_type.lower(), [])
            if str(r.get("id", "")).lower().startswith(prefix)
        ]


def inventory_query(types: Iterable[str]) -> str:
    """Return the Resource Graph query that lists every resource of `types` with its properties."""
    quoted = ", ".join(f"'{t.lower()}'" for t in sorted(set(types)))
    return (
        f"Resources | where type in~ ({quoted}) "
        "| project id, name, type, location, kind, sku, identity, tags, properties, subscriptionId "
        "| order by id asc"
    )
