"""The broker: its URL with the password from the environment, and the Celery app over it.

Coordinator and workers speak JSON only (never pickle), acknowledge a task only once it is
carried out (`acks_late`, so a worker killed mid-task leaves it to be delivered again), and take
one task at a time. The password is never in a config file or a task: it is read from the
variable `[distributed] password_env` names (coordinator) or AUDITOR_BROKER_PASSWORD (worker).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

from celery import Celery

from collectors.config.sites import DistributedSettings

TASK_NAME = "auditor.collect"
BROKER_URL_VARIABLE = "AUDITOR_BROKER_URL"
BROKER_PASSWORD_VARIABLE = "AUDITOR_BROKER_PASSWORD"
RESULT_SECONDS = 2 * 24 * 3600
"""How long the broker keeps an answer: long enough for the coordinator, short enough to stay small."""


class BrokerSettingError(ValueError):
    """The broker cannot be named from the environment (a worker started without AUDITOR_BROKER_URL)."""


def with_password(url: str, password: str | None) -> str:
    """Return `url` with `password` put into it (Redis AUTH), or unchanged without one."""
    if not password:
        return url
    parts = urlsplit(url)
    user = quote(parts.username or "", safe="")
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def coordinator_broker_url(settings: DistributedSettings, environ: Mapping[str, str]) -> str:
    """Return the coordinator's broker URL: `[distributed] broker` with the password of `password_env`."""
    password = environ.get(settings.password_env) if settings.password_env else None
    return with_password(settings.broker, password)


def worker_broker_url(environ: Mapping[str, str]) -> str:
    """Return a worker's broker URL: AUDITOR_BROKER_URL, with AUDITOR_BROKER_PASSWORD when set."""
    url = environ.get(BROKER_URL_VARIABLE, "")
    if not url:
        raise BrokerSettingError(
            f"{BROKER_URL_VARIABLE} is not set: a site's worker needs the broker's URL, e.g. "
            f"{BROKER_URL_VARIABLE}=redis://broker.example:6379/0 (password in {BROKER_PASSWORD_VARIABLE})"
        )
    return with_password(url, environ.get(BROKER_PASSWORD_VARIABLE))


def shown_url(url: str) -> str:
    """Return `url` as it may be shown in a message or log: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def celery_app(url: str) -> Celery:
    """Return the auditor's Celery app on the broker at `url` (answers are kept in the broker too)."""
    app = Celery("auditor", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        result_expires=RESULT_SECONDS,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=3,
        task_default_queue="local",
        worker_hijack_root_logger=False,
        redis_socket_connect_timeout=5,
        redis_socket_timeout=30,
        broker_transport_options={"socket_connect_timeout": 5},
    )
    return app
