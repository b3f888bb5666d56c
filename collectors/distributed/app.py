"""The module a site's worker is started with: `celery -A collectors.distributed.app worker -Q <site>`.

The broker comes from AUDITOR_BROKER_URL (and AUDITOR_BROKER_PASSWORD); the targets'
credentials from the worker's own environment, as the config names them. The worker only
reads: it carries out work orders (`collectors.distributed.work.carry_out`) and answers with
what it observed.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Task

from collectors.distributed.broker import TASK_NAME, BrokerSettingError, celery_app, worker_broker_url
from collectors.distributed.orders import WorkOrder
from collectors.distributed.work import carry_out

try:
    app = celery_app(worker_broker_url(os.environ))
except BrokerSettingError as exc:  # one line, no traceback: the worker cannot know its broker
    raise SystemExit(f"collectors.distributed.app: {exc}") from None


@app.task(name=TASK_NAME, acks_late=True, bind=True)
def collect(task: Task[Any, Any], order: dict[str, Any]) -> dict[str, Any]:
    """Carry out one work order and return the answer (the recording part it observed), naming this worker."""
    return carry_out(WorkOrder.from_json(order), worker=str(task.request.hostname or ""))
