"""Pick the ticket backend `[tickets] backend` names and hand it its credential from the environment.

Credentials are read here, from the environment variables the configuration names
(`token_env`, `user_env`), and nowhere else; a missing variable is a TrackerError naming the
variable (never its value). Backend modules are imported lazily, so a broken or absent optional
backend never stops the others.

Constructor contract per backend (kept stable for the modules' authors):

- `jira.JiraBackend(settings, user, token)` (Basic e-mail:API token)
- `github.GitHubBackend(settings, token)` (Bearer token)
- `azure_devops.AzureDevOpsBackend(settings, token)` (PAT)
- `webhook.WebhookBackend(settings, secret, state_path)` (HMAC-SHA256 secret)
- `email.EmailBackend(settings, password, state_path)` (SMTP password or None)

`state_path` is `[tickets] state_file` (resolved by the caller) or `<state_dir>/ticket-state.json`,
or None when neither is given; trackerless backends keep their hidden state there.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from reports.tickets.model import TicketBackend, TrackerError
from reports.tickets.settings import TicketSettings

STATE_FILE_NAME = "ticket-state.json"


def credential(env: Mapping[str, str], variable: str | None, purpose: str) -> str:
    """Return the value of environment variable `variable`; TrackerError naming it when unset or empty.

    It exists so that every backend reports a missing secret the same way, without the value.
    """
    if not variable:
        raise TrackerError(f"[tickets] names no environment variable for the {purpose}")
    value = env.get(variable, "")
    if not value.strip():
        raise TrackerError(f"environment variable {variable} (the tracker's {purpose}) is not set")
    return value


def state_path_for(settings: TicketSettings, state_dir: Path | None) -> Path | None:
    """Return where the local ticket state lives: `[tickets] state_file`, else `state_dir/ticket-state.json`."""
    if settings.state_file is not None:
        return settings.state_file
    if state_dir is not None:
        return state_dir / STATE_FILE_NAME
    return None


def _module(name: str) -> Any:
    try:
        return importlib.import_module(f"reports.tickets.{name}")
    except ImportError as exc:
        raise TrackerError(f"ticket backend module reports.tickets.{name} is not available ({exc})") from None


def backend_for(
    settings: TicketSettings, env: Mapping[str, str], *, state_dir: Path | None = None
) -> TicketBackend:
    """Return the configured tracker's backend, built with its credential from `env`.

    Raises TrackerError when the credential's variable is unset or the backend cannot be loaded.
    """
    state_path = state_path_for(settings, state_dir)
    if settings.backend == "jira":
        user = credential(env, settings.user_env, "account e-mail (user_env)")
        token = credential(env, settings.token_env, "API token (token_env)")
        return cast(TicketBackend, _module("jira").JiraBackend(settings, user, token))
    if settings.backend == "github":
        token = credential(env, settings.token_env, "token (token_env)")
        return cast(TicketBackend, _module("github").GitHubBackend(settings, token))
    if settings.backend == "azure-devops":
        token = credential(env, settings.token_env, "personal access token (token_env)")
        return cast(TicketBackend, _module("azure_devops").AzureDevOpsBackend(settings, token))
    if settings.backend == "webhook":
        secret = credential(env, settings.token_env, "HMAC secret (token_env)")
        return cast(TicketBackend, _module("webhook").WebhookBackend(settings, secret, state_path))
    if settings.backend == "email":
        password = (
            credential(env, settings.token_env, "SMTP password (token_env)") if settings.token_env else None
        )
        smtp_user = credential(env, settings.user_env, "SMTP user (user_env)") if settings.user_env else None
        return cast(
            TicketBackend, _module("email").EmailBackend(settings, password, state_path, user=smtp_user)
        )
    raise TrackerError(f"unknown ticket backend {settings.backend!r}")
