"""The coordinator: send the run's orders to the sites, wait until each answers or its deadline, merge.

Orders for the "local" site (the machine of the run itself) are carried out in this process;
every other order goes to its site's queue. An order that is not back by its deadline, or
that failed at the worker, is written into the merged recording as its own items' `error`.
A broker that cannot be reached, before or while waiting, ends the run before anything is
judged (`BrokerUnavailable`): a half-collected night is never reported as a whole one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from celery import Celery
from celery.result import AsyncResult
from kombu.exceptions import KombuError, OperationalError
from redis.exceptions import RedisError

from collectors.azure.arm import ArmUnavailable
from collectors.azure.collect import collect_azure
from collectors.azure.facts import DiscoveredEndpoint
from collectors.config.estate import EstateConfig
from collectors.config.sites import LOCAL_SITE
from collectors.distributed.broker import TASK_NAME, celery_app, coordinator_broker_url, shown_url
from collectors.distributed.merging import (
    AnswerRefused,
    MergedRecording,
    OrderAccount,
    check_answer,
    deadline_reason,
    fill_gap,
    finish,
    merge_part,
)
from collectors.distributed.orders import WorkOrder
from collectors.distributed.planning import OrderBook, new_run_id
from collectors.distributed.work import carry_out
from collectors.facts import FactStore
from collectors.probes.collect import discovered_endpoints
from collectors.recording import Recording
from reports.evidence import msg, utc_now

POLL_SECONDS = 0.25
BROKER_ERRORS = (KombuError, OperationalError, RedisError, OSError)


class BrokerUnavailable(Exception):
    """The broker cannot be reached: the run cannot collect; the message names the broker (no password)."""


def _check_broker(app: Celery, url: str) -> None:
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=5)
        app.backend.get_task_meta("auditor.broker-check")  # the answers live in the broker too
    except BROKER_ERRORS as exc:
        raise BrokerUnavailable(
            f"[distributed] broker {shown_url(url)} cannot be reached: {type(exc).__name__}: {exc}"
        ) from None


class Dispatch:
    """One phase's orders in flight: remote ones as Celery results, local ones as futures."""

    def __init__(self, app: Celery, pool: ThreadPoolExecutor, progress: Callable[[str], None]) -> None:
        self.app = app
        self.pool = pool
        self.progress = progress

    def run(self, orders: list[WorkOrder], config: EstateConfig, merged: MergedRecording) -> None:
        """Send `orders`, then merge each answer as it arrives; at the deadline, fill the gaps."""
        sent_at = time.monotonic()
        remote: dict[str, tuple[WorkOrder, AsyncResult[dict[str, Any]]]] = {}
        local: dict[str, tuple[WorkOrder, Future[dict[str, Any]]]] = {}
        for order in orders:
            if order.site == LOCAL_SITE:
                local[order.task_id] = (order, self.pool.submit(carry_out, order))
                continue
            try:
                result = self.app.send_task(
                    TASK_NAME,
                    args=[order.as_json()],
                    queue=order.site,
                    task_id=order.task_id,
                    expires=order.deadline,
                )
            except BROKER_ERRORS as exc:
                raise BrokerUnavailable(
                    f"[distributed] the broker refused the order {order.describe()}: {type(exc).__name__}: {exc}"
                ) from None
            remote[order.task_id] = (order, result)
        if orders:
            self.progress(
                f"distributed: {len(orders)} order(s) sent: " + ", ".join(o.describe() for o in orders)
            )
        while remote or local:
            now = utc_now()
            for task_id, (order, future) in list(local.items()):
                if future.done():
                    del local[task_id]
                    self._settle(order, config, merged, sent_at, future=future)
                elif now > order.deadline:
                    del local[task_id]
                    self._gap(order, config, merged, deadline_reason(order.site, order.deadline))
            for task_id, (order, result) in list(remote.items()):
                try:
                    ready = result.ready()
                except BROKER_ERRORS as exc:
                    raise BrokerUnavailable(
                        f"[distributed] the broker stopped answering while waiting for {order.describe()}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from None
                if ready:
                    del remote[task_id]
                    self._settle(order, config, merged, sent_at, result=result)
                elif now > order.deadline:
                    del remote[task_id]
                    self._revoke(result)
                    self._gap(order, config, merged, deadline_reason(order.site, order.deadline))
            if remote or local:
                time.sleep(POLL_SECONDS)

    def _settle(
        self,
        order: WorkOrder,
        config: EstateConfig,
        merged: MergedRecording,
        sent_at: float,
        *,
        future: Future[dict[str, Any]] | None = None,
        result: AsyncResult[dict[str, Any]] | None = None,
    ) -> None:
        try:
            if future is not None:
                answer = future.result()
            else:
                assert result is not None
                if not result.successful():
                    raised = result.result
                    raise RuntimeError(f"{type(raised).__name__}: {raised}")
                answer = result.get(timeout=30, propagate=True)
                result.forget()
            part = check_answer(order, answer)
        except BROKER_ERRORS as exc:
            raise BrokerUnavailable(
                f"[distributed] the broker stopped answering while fetching {order.describe()}: {exc}"
            ) from None
        except AnswerRefused as exc:
            self._gap(
                order,
                config,
                merged,
                msg("the answer of site {site} was refused: {error}", site=order.site, error=str(exc)),
                outcome="refused",
            )
            return
        except Exception as exc:  # a worker's failure is confined to its order's items
            failed = type(exc).__name__ + ": " + str(exc)
            self._gap(
                order,
                config,
                merged,
                msg("site {site} failed to collect: {error}", site=order.site, error=failed),
                outcome="failed",
            )
            return
        problem = merge_part(config, merged, order, part)
        if problem is not None:
            self._gap(order, config, merged, problem, outcome="failed")
            return
        seconds = time.monotonic() - sent_at
        merged.accounts.append(
            OrderAccount(order, "answered", worker=str(answer.get("worker", "")), seconds=seconds)
        )
        self.progress(
            f"distributed: {order.describe()} answered by {answer.get('worker', '?')} in {seconds:.1f} s"
        )

    def _gap(
        self,
        order: WorkOrder,
        config: EstateConfig,
        merged: MergedRecording,
        reason: Any,
        outcome: str = "unanswered",
    ) -> None:
        fill_gap(config, merged, order, reason)
        merged.accounts.append(OrderAccount(order, outcome, reason=reason))  # type: ignore[arg-type]
        self.progress(f"distributed: {order.describe()}: {outcome}; its items are error")

    @staticmethod
    def _revoke(result: AsyncResult[Any]) -> None:
        with contextlib.suppress(*BROKER_ERRORS):  # its items are error either way; a late answer is refused
            result.revoke()


def published(config: EstateConfig, recording: Recording) -> list[DiscoveredEndpoint]:
    """Return the endpoints Azure published, read back from the merged Azure observations."""
    if config.azure is None:
        return []
    store = FactStore()
    try:
        collect_azure(
            config, config.azure, store, recording=None, replay=recording, progress=lambda line: None
        )
    except ArmUnavailable:
        return []
    return discovered_endpoints(store)


def collect_distributed(
    config: EstateConfig,
    *,
    config_toml: str,
    run_date: date,
    scan_discovered: bool,
    environ: Mapping[str, str],
    progress: Callable[[str], None] = lambda line: None,
    run_id: str | None = None,
    app: Celery | None = None,
) -> MergedRecording:
    """Return the run's observations gathered by the sites' workers, merged into one recording.

    Raises BrokerUnavailable when the broker cannot be reached: nothing is judged then.
    """
    settings = config.distributed
    if settings is None:
        raise ValueError("collect_distributed needs a [distributed] section")
    url = coordinator_broker_url(settings, environ)
    app = app or celery_app(url)
    _check_broker(app, url)
    run_id = run_id or new_run_id()
    book = OrderBook(config, settings, run_id, config_toml)
    merged = MergedRecording(
        Recording(endpoint=config.azure.endpoint if config.azure else "", run_date=run_date.isoformat())
    )
    window = timedelta(minutes=settings.deadline_minutes)
    # Not a `with` block: a local order past its deadline must not hold the run up at the end.
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="local-site")
    try:
        dispatch = Dispatch(app, pool, progress)
        dispatch.run(book.phase_one(utc_now() + window), config, merged)
        wanted = scan_discovered or (config.probing.enabled and config.probing.include_azure_sql)
        discovered = published(config, merged.recording) if wanted else []
        dispatch.run(book.phase_two(utc_now() + window, discovered, scan_discovered), config, merged)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    finish(config, merged)
    return merged
