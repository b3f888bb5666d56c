"""Where the estate is read from: sites and vantage points (`[[sites]]`) and the engine that
spreads collection over them (`[distributed]`).

A site is a place the auditor can run a worker: a datacenter network, a cloud VNet, or the
machine of the nightly run itself ("local", always present). Every inventory entry names the
site it is reached from (`site`, default "local"). A site's `vantage` says what its network is
to the estate: a port open from an `untrusted` vantage point is exposed; what a `trusted` one
sees is expected, and only shows that a host is there.

Secrets never live here either: the broker's password comes from the variable `password_env`.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from reports.setting_types import ConfigSection, EnvName

LOCAL_SITE = "local"
"""The site of the process that runs `pytest controls/`: the default of every entry's `site`."""

Vantage = Literal["trusted", "untrusted"]
SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""A site's name is also its Celery queue: lower-case letters, digits, '-' and '_'."""
BROKER_SCHEMES = ("redis", "rediss")


class SiteEntry(ConfigSection):
    """One place the estate is read from (`[[sites]]`)."""

    name: str
    description: str = ""
    vantage: Vantage
    """`untrusted`: an attacker's network (the internet, a guest VLAN); `trusted`: a network the
    statement allows to reach the servers (the management VLAN, the datacenter itself)."""

    @field_validator("name")
    @classmethod
    def _queue_name(cls, value: str) -> str:
        if not SITE_NAME.match(value):
            raise ValueError(
                "expected a site name of lower-case letters, digits, '-' and '_' (it names the "
                "site's Celery queue), e.g. 'rivium'"
            )
        return value


class DistributedSettings(ConfigSection):
    """Collection split over the sites' Celery workers (`[distributed]`).

    Without this section the run reads everything itself, from the "local" site.
    """

    broker: str
    """The Redis or Valkey broker, `redis://host:6379/0` or `rediss://...` (TLS), without a password."""
    password_env: EnvName | None = None
    """The environment variable that holds the broker's password (coordinator and workers alike)."""
    deadline_minutes: float = Field(default=60.0, gt=0, le=24 * 60)
    """How long after the run starts every task must have answered; a task that has not is `error`
    for exactly its items ("site rivium did not answer by 02:40 UTC")."""
    subscriptions_per_task: int = Field(default=10, ge=1, le=10_000)
    """Azure: how many subscriptions one collection task reads (ARM's limits are per subscription)."""

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in BROKER_SCHEMES or not parts.hostname:
            raise ValueError("expected a Redis or Valkey URL, redis://host:6379/0 or rediss://host:6380/0")
        if parts.password is not None:
            raise ValueError(
                "the broker URL holds a password: remove it and name the variable that holds it in "
                "password_env (a config file never holds a secret)"
            )
        return value
