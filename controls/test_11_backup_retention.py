"""11: "Retentie in backups zorgt ervoor dat na 3 maanden de data daadwerkelijk verwijderd is."

And "Na beëindiging van de overeenkomst [...] verwijdert Lucrasoft Digital de applicatie specifieke
databases": an application with terminated_on has no database left on its server once
policy.termination_delete_days have passed (11.terminated-data-removed).

(Backup retention ensures that data is actually deleted after 3 months.) Azure SQL long-term
retention keeps weekly, monthly and yearly full backups for as long as its policy says; each of
those periods must end within policy.backup_max_retention, and no yearly backup may be kept.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import isodate

from collectors.azure.facts import LongTermRetention, LtrBackup, SqlBackupRetention
from collectors.config.policy import Policy
from collectors.databases.termination import TerminatedApplication
from controls.framework import Evidence, EvidenceMissing, NotApplicable, control
from reports.evidence import N_, Message, msg, verbatim
from reports.i18n.translation import english

UNSET = ("", "PT0S")
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
FOUR_YEARS = (31, 29, *MONTH_DAYS[2:], *MONTH_DAYS * 3)
"""The month lengths of a leap year and three common years: the calendar repeats them (centuries aside)."""
FOUR_YEAR_DAYS = sum(FOUR_YEARS)
PERIODS = {
    "weekly": (
        N_("weeklyRetention is not reported"),
        N_("weekly backups are kept for {value}, longer than {limit}"),
    ),
    "monthly": (
        N_("monthlyRetention is not reported"),
        N_("monthly backups are kept for {value}, longer than {limit}"),
    ),
    "yearly": (N_("yearlyRetention is not reported"), None),
}
"""Per long-term retention period: the words for an unreported period and for one kept too long."""


class UnreadableRetention(ValueError):
    """A retention period that cannot be judged: absent, or not an ISO-8601 duration; `reason` says why."""

    def __init__(self, reason: Message) -> None:
        self.reason = reason
        super().__init__(english(reason))


def longest_months(months: int) -> int:
    """Return the most days that `months` consecutive calendar months can span (1: 31, 3: 92, 12: 366)."""
    cycles, rest = divmod(months, len(FOUR_YEARS))
    doubled = FOUR_YEARS + FOUR_YEARS
    window = max(sum(doubled[start : start + rest]) for start in range(len(FOUR_YEARS)))
    return cycles * FOUR_YEAR_DAYS + window


def longest_days(duration: str) -> float:
    """Return the longest number of days an ISO-8601 duration can last on the calendar.

    Durations are compared as durations, never as strings ("P4W" > "P3M" as text). Months and
    years have no fixed length, so a duration is measured at its longest calendar realisation:
    its years and months (a year is exactly 12 months) as the longest run of that many
    consecutive months (one month 31 days, three months 92, a year 366), plus its weeks
    (7 days), days and smaller parts. Both sides of a comparison are measured this way, so
    equal durations stay equal (P3M <= P3M, P12M = P1Y) while P13W (91 days) stays within
    P3M (92 days) and P14W (98 days), P93D or P1Y (366 days) exceed it.
    Raises ValueError for text that is not an ISO-8601 duration.
    """
    try:
        parsed = isodate.parse_duration(duration.strip())
    except (isodate.ISO8601Error, ValueError):
        raise UnreadableRetention(
            msg("{duration} is not an ISO-8601 duration", duration=repr(duration))
        ) from None
    if isinstance(parsed, isodate.Duration):
        months, rest = 12 * float(parsed.years) + float(parsed.months), parsed.tdelta
    else:
        months, rest = 0.0, parsed
    if months < 0 or rest.total_seconds() < 0:
        raise UnreadableRetention(msg("{duration} is a negative duration", duration=repr(duration)))
    whole = int(months)
    days: float = longest_months(whole) + (months - whole) * MONTH_DAYS[0] + rest.total_seconds() / 86400
    return days


def is_unset(duration: str | None) -> bool:
    """Return True when a retention period keeps nothing: absent, empty or zero ("PT0S")."""
    if duration is None or duration.strip().upper() in UNSET:
        return True
    return longest_days(duration) == 0


def retention_problems(policy: LongTermRetention, limit: str) -> list[Message]:
    """Return what in one long-term retention policy keeps backups longer than `limit` allows.

    Raises UnreadableRetention (a ValueError) for a period that is absent or not an ISO-8601 duration.
    """
    problems: list[Message] = []
    limit_days = longest_days(limit)
    periods = (
        ("weekly", policy.weekly_retention),
        ("monthly", policy.monthly_retention),
        ("yearly", policy.yearly_retention),
    )
    unknown: list[Message] = []
    for period, value in periods:
        not_reported, too_long = PERIODS[period]
        if value is None or not value.strip():
            # Microsoft documents no default for an absent period: unknown, never "nothing kept".
            unknown.append(msg(not_reported))
            continue
        if is_unset(value):
            continue
        if too_long is None:
            problems.append(
                msg("yearly backups are kept for {value} (yearly retention must be unset)", value=value)
            )
        elif longest_days(value) > limit_days:
            problems.append(msg(too_long, value=value, limit=limit))
    if unknown and not problems:
        raise UnreadableRetention(unknown[0] if len(unknown) == 1 else msg("{problems}", problems=unknown))
    return problems + unknown


@control("11.azure-sql-backup-retention", over="azure.sql_backup_retention")
def test_sql_database_backups_are_gone_after_three_months(
    retention: SqlBackupRetention, policy: Policy, evidence: Evidence
) -> None:
    limit = policy.backup_max_retention
    evidence.expected(
        weekly_retention=f"<= {limit}",
        monthly_retention=f"<= {limit}",
        yearly_retention=msg("unset (PT0S)"),
    )
    if not retention.policies:
        evidence.observed(long_term_retention=msg("no long-term retention policy: nothing is kept long-term"))
        return
    evidence.observed(
        policies=[
            {
                "name": p.name,
                "weekly_retention": p.weekly_retention or "not reported",
                "monthly_retention": p.monthly_retention or "not reported",
                "yearly_retention": p.yearly_retention or "not reported",
            }
            for p in retention.policies
        ]
    )
    problems: list[Message] = []
    unreadable: list[Message] = []
    for entry in retention.policies:
        try:
            problems += retention_problems(entry, limit)
        except ValueError as exc:
            unreadable.append(
                msg(
                    "long-term retention policy {policy} of database {database} cannot be read: {reason}",
                    policy=entry.name,
                    database=retention.database_name,
                    reason=exc.reason if isinstance(exc, UnreadableRetention) else verbatim(str(exc)),
                )
            )
    assert not problems, evidence.fails(
        "database {database} keeps backups beyond {limit}: {problems}",
        database=retention.database_name,
        limit=limit,
        problems=[*problems, *unreadable],
    )
    if unreadable:
        raise EvidenceMissing(
            unreadable[0] if len(unreadable) == 1 else msg("{problems}", problems=unreadable)
        )


# --- 11.terminated-data-removed -----------------------------------------------------------------


def backups_gone_by(deletion_due: date, limit: str) -> date:
    """Return the day by which a terminated application's long-term backups must be gone: the
    database's deletion date plus policy.backup_max_retention, counted on the calendar (P3M: three months)."""
    duration = isodate.parse_duration(limit)
    gone_by = deletion_due + duration
    return gone_by if isinstance(gone_by, date) else deletion_due


def backup_problems(
    backups: tuple[LtrBackup, ...], gone_by: date, run_date: date
) -> tuple[list[Message], list[Message]]:
    """Return (problems, unknowns) of the long-term backups Azure keeps of a terminated application's database.

    From `gone_by` on, any backup still kept is a problem. Before it, a backup whose expiry lies
    after `gone_by` or that is under legal hold (kept past its expiry) is already one: its
    retention does not make the data go in time. A backup whose expiry ARM does not report is unknown.
    """
    problems: list[Message] = []
    unknowns: list[Message] = []
    for backup in backups:
        taken = (
            backup.backup_time.date().isoformat() if backup.backup_time is not None else msg("an unknown day")
        )
        if (backup.legal_hold or "").lower() == "enabled":
            problems.append(
                msg("the backup of {taken} is under legal hold: Azure keeps it past its expiry", taken=taken)
            )
        elif run_date >= gone_by:
            problems.append(msg("the backup of {taken} is still kept", taken=taken))
        elif backup.expiration_time is None:
            unknowns.append(msg("the backup of {taken} reports no backupExpirationTime", taken=taken))
        elif backup.expiration_time.astimezone(UTC).date() > gone_by:
            problems.append(
                msg(
                    "the backup of {taken} expires on {expires}",
                    taken=taken,
                    expires=backup.expiration_time.astimezone(UTC).date().isoformat(),
                )
            )
    return problems, unknowns


@control("11.terminated-data-removed", over="databases.terminated_applications")
def test_terminated_application_has_no_database_left(
    application: TerminatedApplication, evidence: Evidence, policy: Policy, run_date: date
) -> None:
    """The database must be gone by its due date; on Azure SQL its long-term backups by three months later."""
    due = application.terminated_on + timedelta(days=policy.termination_delete_days)
    backups = application.long_term_backups
    gone_by = backups_gone_by(due, policy.backup_max_retention)
    evidence.observed(
        application=application.name,
        server=application.server,
        database=application.database,
        terminated_on=application.terminated_on.isoformat(),
        deletion_due=due.isoformat(),
        databases_on_server=len(application.server_databases),
        database_left=application.database_left(),
    )
    expected: dict[str, object] = {
        "database": msg(
            "no database {database} on {server} from {due} (terminated_on + policy.termination_delete_days)",
            database=application.database,
            server=application.server,
            due=due.isoformat(),
        )
    }
    if application.engine == "azuresql":
        evidence.observed(
            backups_gone_by=gone_by.isoformat(),
            long_term_backups=None
            if backups is None
            else [
                {
                    "backup_time": b.backup_time.isoformat() if b.backup_time is not None else None,
                    "expires": b.expiration_time.isoformat() if b.expiration_time is not None else None,
                    "legal_hold": b.legal_hold,
                    "database_deleted": b.database_deletion_time.isoformat()
                    if b.database_deletion_time is not None
                    else None,
                }
                for b in backups
            ],
        )
        expected["long_term_backups"] = msg(
            "none kept from {gone_by} (deletion due + policy.backup_max_retention {limit}); none expiring later "
            "or under legal hold before then",
            gone_by=gone_by.isoformat(),
            limit=policy.backup_max_retention,
        )
    evidence.expected(**expected)
    if run_date >= due:
        assert not application.database_left(), evidence.fails(
            "database {database} of {application} is still on {server}, {days} day(s) after its deletion was due "
            "({due}; the agreement ended on {ended})",
            database=application.database,
            application=application.name,
            server=application.server,
            days=(run_date - due).days,
            due=due.isoformat(),
            ended=application.terminated_on.isoformat(),
        )
    if application.engine == "azuresql":
        if backups is None:
            raise EvidenceMissing(
                application.long_term_backups_error
                or msg("the long-term backups of {database} were not listed", database=application.database)
            )
        problems, unknowns = backup_problems(backups, gone_by, run_date)
        assert not problems, evidence.fails(
            "Azure still keeps long-term backups of database {database} of {application} that must be gone by "
            "{gone_by}: {problems}",
            database=application.database,
            application=application.name,
            gone_by=gone_by.isoformat(),
            problems=problems,
        )
        if unknowns:
            raise EvidenceMissing(
                msg(
                    "the long-term backups of database {database} cannot all be judged: {problems}",
                    database=application.database,
                    problems=unknowns,
                )
            )
    if run_date < due:
        raise NotApplicable(
            msg(
                "the agreement of {application} ended on {ended}; its databases must be gone by {due}, after "
                "this run's date {today}",
                application=application.name,
                ended=application.terminated_on.isoformat(),
                due=due.isoformat(),
                today=run_date.isoformat(),
            )
        )
