"""Every credential the configuration names must exist before anything is collected.

A passphrase, password or token comes from the environment variable the config names
(`passphrase_env`, `password_env`, `token_env`, `user_env`); keys, client certificates and CA
bundles are files the config names. When one is missing, every item that needs it could only
end as `error`, night after night: so a missing one is a configuration error (exit 4) that names
the key and the variable or file, never a value. Checked for runs that collect (live, --record);
a --replay or --demo run uses no collection credential. The ticket tracker's variables are
checked whenever tickets are on or dry-run, replay or not (the tracker is always live).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from collectors.config.sites import LOCAL_SITE
from controls.harness.config_file import AuditConfig, ConfigError


def _variable_problem(key: str, variable: str | None, environ: Mapping[str, str]) -> str | None:
    if variable is None:
        return None
    if not environ.get(variable, "").strip():
        return f"{key}: the environment variable {variable} is not set (or is empty)"
    return None


def _file_problem(config: AuditConfig, key: str, path: Path | None) -> str | None:
    if path is None:
        return None
    resolved = config.resolve(path.expanduser())
    if not resolved.is_file():
        return f"{key}: no such file {resolved}"
    if not os.access(resolved, os.R_OK):
        return f"{key}: {resolved} cannot be read by this user"
    return None


def credential_problems(
    config: AuditConfig, environ: Mapping[str, str], *, collecting: bool, tickets_mode: str
) -> list[str]:
    """Return one line per credential the config names that does not exist (empty when all do).

    `collecting`: the run reads targets (live or --record), so host, database and endpoint
    credentials are needed. With [distributed], only those of the "local" site: every other
    site's worker reads its own environment (and the broker's password must be set here).
    `tickets_mode`: the resolved --tickets / [tickets] mode.
    """
    found: list[str | None] = []
    distributed = config.distributed

    def here(site: str) -> bool:
        return distributed is None or site == LOCAL_SITE

    if collecting and distributed is not None:
        found.append(_variable_problem("distributed.password_env", distributed.password_env, environ))
    if collecting:
        for index, host in enumerate(config.hosts):
            if not here(host.site):
                continue
            where = f"hosts[{index}]"
            found.append(_file_problem(config, f"{where}.key_file", host.key_file))
            found.append(_variable_problem(f"{where}.passphrase_env", host.passphrase_env, environ))
            found.append(_variable_problem(f"{where}.password_env", host.password_env, environ))
            if "known_hosts" in host.model_fields_set:
                found.append(_file_problem(config, f"{where}.known_hosts", host.known_hosts))
        for index, server in enumerate(config.databases):
            if not here(server.site):
                continue
            where = f"databases[{index}]"
            found.append(_variable_problem(f"{where}.password_env", server.password_env, environ))
            found.append(_file_problem(config, f"{where}.client_cert", server.client_cert))
            found.append(_file_problem(config, f"{where}.client_key", server.client_key))
            found.append(_file_problem(config, f"{where}.ca_bundle", server.ca_bundle))
        for index, endpoint in enumerate(config.endpoints):
            if not here(endpoint.site):
                continue
            found.append(_file_problem(config, f"endpoints[{index}].ca_bundle", endpoint.ca_bundle))
        for key, register in (
            ("data_subject_requests", config.data_subject_requests),
            ("breach_notifications", config.breach_notifications),
        ):
            if register is not None:  # read by this process, also with [distributed]
                found.append(_variable_problem(f"{key}.token_env", register.token_env, environ))
                found.append(_variable_problem(f"{key}.user_env", register.user_env, environ))
                found.append(_file_problem(config, f"{key}.ca_bundle", register.ca_bundle))
        if config.azure is not None and here(config.azure.site):
            found.append(_file_problem(config, "azure.ca_bundle", config.azure.ca_bundle))
    tickets = config.tickets
    if tickets is not None and tickets_mode != "off":
        found.append(_variable_problem("tickets.token_env", tickets.token_env, environ))
        found.append(_variable_problem("tickets.user_env", tickets.user_env, environ))
        found.append(_file_problem(config, "tickets.ca_bundle", tickets.ca_bundle))
    return [f"{config.path}: {problem}" for problem in found if problem is not None]


def check_credentials(
    config: AuditConfig, environ: Mapping[str, str], *, collecting: bool, tickets_mode: str
) -> None:
    """Raise ConfigError listing every missing credential (see `credential_problems`); return when none is."""
    problems = credential_problems(config, environ, collecting=collecting, tickets_mode=tickets_mode)
    if problems:
        raise ConfigError("\n".join(problems))
