"""12d: every application has its own database, and can reach only that database."""

from __future__ import annotations

from collectors.databases.facts import APPLICATIONS, SERVERS, Application, DatabaseServer, Engine, Login
from controls.framework import Evidence, EvidenceMissing, NotApplicable, control
from reports.evidence import Message, msg, msg_n, verbatim

OWNER_ROLES = frozenset({"db_owner", "owner"})
"""Database roles that own the database (SQL Server db_owner, the PostgreSQL database owner)."""
RAVENDB_OWNER_ACCESS = "admin"
"""RavenDB's Admin access level: database administration, the owner's powers (lower-cased)."""


def _owner_roles(engine: Engine) -> frozenset[str]:
    """Return the lower-cased role names that own a database on this engine."""
    return OWNER_ROLES | {RAVENDB_OWNER_ACCESS} if engine == "ravendb" else OWNER_ROLES


def _same(engine: Engine, left: str, right: str) -> bool:
    """Return True when two names denote the same object (SQL Server names are case-insensitive)."""
    return left.lower() == right.lower() if engine in ("sqlserver", "azuresql") else left == right


def _catalog_login(app: Application) -> Login:
    """Return the application's login as the server's catalog has it; missing evidence otherwise.

    An application whose agreement ended may have lost its login with its database: then it is
    not_applicable (11.terminated-data-removed judges the removal).
    """
    if app.login is None and app.terminated_on is not None:
        raise NotApplicable(
            msg(
                "the agreement of {application} ended on {ended} and server {server}'s catalog has no login "
                "{login} any more",
                application=app.name,
                ended=app.terminated_on.isoformat(),
                server=app.server,
                login=app.identity,
            )
        )
    if app.login is None:
        raise EvidenceMissing(
            msg(
                "application {application}: server {server}'s catalog has no login {login} "
                "(it does not exist, or the auditor's login cannot see it)",
                application=app.name,
                server=app.server,
                login=app.identity,
            )
        )
    return app.login


def _joined_with_and(names: list[str]) -> Message | str:
    """Return names as a list in words: "a", "a and b", "a, b and c"."""
    if len(names) == 1:
        return names[0]
    return msg("{names} and {last}", names=names[:-1], last=names[-1])


def _own_database_listed(app: Application) -> None:
    """Raise unless the server's catalog lists the application's own database.

    An inventory naming a database the server does not have proves nothing about the database
    the application really uses: `error`. Once the agreement ended and the database is gone,
    not_applicable (11.terminated-data-removed judges that).
    """
    if app.database_exists is None:
        raise EvidenceMissing(
            msg(
                "application {application}: server {server} is read only for its configured databases list, "
                "which leaves {database} out",
                application=app.name,
                server=app.server,
                database=app.database,
            )
        )
    if app.database_exists:
        return
    if app.terminated_on is not None:
        raise NotApplicable(
            msg(
                "the agreement of {application} ended on {ended} and its database {database} is gone from server "
                "{server}",
                application=app.name,
                ended=app.terminated_on.isoformat(),
                database=app.database,
                server=app.server,
            )
        )
    raise EvidenceMissing(
        msg(
            "application {application}: server {server}'s catalog has no database {database} (it does not exist, "
            "or the auditor's login cannot see it)",
            application=app.name,
            server=app.server,
            database=app.database,
        )
    )


@control("12d.app-own-database", over=APPLICATIONS)
def test_application_uses_one_database_of_its_own(app: Application, evidence: Evidence) -> None:
    evidence.observed(
        server=app.server,
        databases_used=app.databases_used,
        shared_with=app.shared_with,
        discovered_from=app.discovered_from,
    )
    evidence.expected(databases_used=msg("exactly one ({database})", database=app.database), shared_with=[])
    _own_database_listed(app)
    problems: list[Message] = []
    if len(app.databases_used) != 1:
        problems.append(
            msg_n(
                "uses {n} database ({databases})",
                "uses {n} databases ({databases})",
                "n",
                n=len(app.databases_used),
                databases=list(app.databases_used),
            )
        )
    if app.shared_with:
        problems.append(msg("shares its database with {applications}", applications=list(app.shared_with)))
    assert not problems, evidence.fails(
        "application {application} on server {server}: {problems}",
        application=app.name,
        server=app.server,
        problems=problems,
    )


@control("12d.app-login-scope", over=APPLICATIONS)
def test_application_login_reaches_its_own_database_only(app: Application, evidence: Evidence) -> None:
    login = _catalog_login(app)
    own = [access for access in login.databases if _same(app.engine, access.database, app.database)]
    others = [access for access in login.databases if not _same(app.engine, access.database, app.database)]
    owning = _owner_roles(app.engine)
    owner_roles = sorted({role for access in own for role in access.roles if role.lower() in owning})
    evidence.observed(
        login=login.name,
        server_privileges=login.server_privileges,
        server_privileges_unread=login.privileges_unread or None,
        reaches={access.database: access.via for access in login.databases},
        roles_in_own_database=sorted({role for access in own for role in access.roles}),
    )
    evidence.expected(
        server_privileges=[], reaches=[app.database], roles_in_own_database=msg("no owner role")
    )
    problems: list[Message] = []
    if login.server_privileges:
        problems.append(msg("holds server-wide {privileges}", privileges=list(login.server_privileges)))
    if others:
        problems.append(
            msg(
                "can reach other databases: {databases}",
                # The database's name and why it is reachable (the collector's words), as data.
                databases=[f"{access.database} ({access.via})" for access in others],
            )
        )
    if owner_roles:
        problems.append(
            msg(
                "is {roles} of its own database {database} (more than the application needs; a waiver can accept it)",
                roles=_joined_with_and(owner_roles),
                database=app.database,
            )
        )
    assert not problems, evidence.fails(
        "login {login} of application {application} on server {server} {problems}",
        login=login.name,
        application=app.name,
        server=app.server,
        problems=problems,
    )
    if login.privileges_unread:
        raise EvidenceMissing(
            msg(
                "login {login} on server {server}: {problem}",
                login=login.name,
                server=app.server,
                problem=verbatim(login.privileges_unread),
            )
        )


@control("12d.app-not-server-admin", over=APPLICATIONS)
def test_application_does_not_connect_as_server_admin(app: Application, evidence: Evidence) -> None:
    evidence.observed(login=app.identity, server_admin_login=app.admin_login or None)
    evidence.expected(
        login=msg("not {login}", login=app.admin_login)
        if app.admin_login
        else msg("not the server administrator")
    )
    named_admin = bool(app.admin_login) and _same(app.engine, app.identity, app.admin_login)
    assert not named_admin, evidence.fails(
        "application {application} connects to server {server} as the server administrator {login}",
        application=app.name,
        server=app.server,
        login=app.identity,
    )
    login = _catalog_login(app)
    assert not login.is_server_admin, evidence.fails(
        "application {application} connects to server {server} as {login}, "
        "which is the server administrator login",
        application=app.name,
        server=app.server,
        login=login.name,
    )


@control("12d.db-shared-logins", over=SERVERS)
def test_server_has_no_shared_or_open_logins(server: DatabaseServer, evidence: Evidence) -> None:
    by_login: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    for application, identity in server.application_logins:
        key = identity.lower() if server.engine in ("sqlserver", "azuresql") else identity
        by_login.setdefault(key, set()).add(application)
        names.setdefault(key, identity)
    shared = {names[key]: sorted(apps) for key, apps in sorted(by_login.items()) if len(apps) > 1}
    enabled_sa = sorted(
        login.name
        for login in server.logins
        if server.engine == "sqlserver"
        and not login.disabled
        and (login.name.lower() == "sa" or (login.is_server_admin and login.kind == "sql_login"))
    )
    guest = sorted(db.name for db in server.databases if db.guest_connect)
    app_databases = set(server.application_databases)
    public = sorted(db.name for db in server.databases if db.public_connect and db.name in app_databases)
    evidence.observed(
        applications=len(server.applications),
        logins_shared_by_applications=shared,
        enabled_sa=enabled_sa,
        guest_connect_databases=guest,
        public_connect_application_databases=public,
    )
    evidence.expected(
        logins_shared_by_applications={},
        enabled_sa=[],
        guest_connect_databases=[],
        public_connect_application_databases=[],
    )
    problems: list[Message] = [
        msg("login {login} is used by applications {applications}", login=login, applications=apps)
        for login, apps in shared.items()
    ]
    problems.extend(
        msg("the server administrator login {login} is enabled", login=name) for name in enabled_sa
    )
    problems.extend(msg("guest has CONNECT in database {database}", database=name) for name in guest)
    problems.extend(
        msg("PUBLIC can CONNECT to application database {database}", database=name) for name in public
    )
    assert not problems, evidence.fails(
        "database server {server}: {problems}", server=server.name, problems=problems
    )
