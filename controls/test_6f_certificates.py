"""6f: every web solution has a valid SSL certificate and enforces HTTPS (privacy by design)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from collectors.config.policy import Policy
from collectors.tls.facts import TlsEndpoint, hostname_matches
from controls.framework import Evidence, EvidenceMissing, NotApplicable, control
from reports.evidence import Message, as_message, msg

SECONDS_PER_DAY = 86400


def days_left(not_after: datetime, run_date: date) -> float:
    """Return the days from the start of `run_date` (UTC) to a certificate's expiry (negative: expired)."""
    start = datetime.combine(run_date, time.min, tzinfo=UTC)
    return (not_after - start).total_seconds() / SECONDS_PER_DAY


@control("6f.endpoint-certificate", over="tls.endpoints")
def test_endpoint_certificate_is_valid(
    endpoint: TlsEndpoint, policy: Policy, run_date: date, evidence: Evidence
) -> None:
    cert = endpoint.certificate
    if cert is None:
        raise EvidenceMissing(
            msg(
                "{endpoint}: the server sent no certificate the scanner could read",
                endpoint=endpoint.target.id,
            )
        )
    left = days_left(cert.not_after, run_date)
    # The name is matched again here, from the names themselves, not only from the recorded flag.
    name_matches = cert.hostname_matches and hostname_matches(cert.names, endpoint.target.server_name)
    chain_valid = cert.chain_valid and cert.validation_error is None
    evidence.observed(
        subject=cert.subject,
        issuer=cert.issuer,
        names=list(cert.names),
        not_before=cert.not_before,
        not_after=cert.not_after,
        days_left=round(left, 1),
        chain_valid=cert.chain_valid,
        validation_error=cert.validation_error,
        trust_store=cert.trust_store,
        hostname=endpoint.target.server_name,
        hostname_matches=cert.hostname_matches,
        profile_deviations=list(cert.profile_deviations),
    )
    evidence.expected(
        chain_valid=True,
        hostname_matches=True,
        days_left=f"> {policy.cert_min_days}",
    )
    problems: list[Message] = []
    if not chain_valid:
        problems.append(
            msg(
                "the chain does not validate to {trust_store}: {reason}",
                trust_store=cert.trust_store,
                reason=as_message(cert.validation_error)
                if cert.validation_error
                else msg("no reason recorded"),
            )
        )
    if not name_matches:
        problems.append(
            msg(
                "{hostname} is not among the certificate's names {names}",
                hostname=endpoint.target.server_name,
                names=str(list(cert.names)),
            )
        )
    if cert.not_before.date() > run_date:
        problems.append(
            msg("not yet valid on {date} (from {not_before})", date=run_date, not_before=cert.not_before)
        )
    if left <= 0:
        problems.append(msg("expired on {not_after}", not_after=cert.not_after))
    elif left <= policy.cert_min_days:
        problems.append(
            msg(
                "expires in {days} days (policy.cert_min_days is {minimum})",
                days=round(left, 1),
                minimum=policy.cert_min_days,
            )
        )
    assert not problems, evidence.fails(
        "{endpoint}: {problems}", endpoint=endpoint.target.id, problems=problems
    )


HSTS_UNREADABLE = ("HTTP headers could not be read ({detail})", "HTTPS request failed: {detail}")
"""The collector's words for an HSTS header that could not be read (as opposed to one that is absent)."""


def hsts_unreadable(observation: Message | str) -> bool:
    """Return True when the HSTS observation says the headers could not be read (evidence missing, not a fail).

    Recordings made before observations were messages hold the English text.
    """
    if isinstance(observation, Message):
        return observation.id in HSTS_UNREADABLE
    return observation.startswith(("HTTP headers could not", "HTTPS request failed"))


@control("6f.https-enforced", over="tls.endpoints")
def test_endpoint_enforces_https(endpoint: TlsEndpoint, policy: Policy, evidence: Evidence) -> None:
    target = endpoint.target
    if target.scheme != "https" or target.starttls is not None:
        raise NotApplicable(msg("{endpoint} is not a web (https://) endpoint", endpoint=target.id))
    evidence.observed(
        plain_http=endpoint.http_observation,
        http_redirects_to_https=endpoint.http_redirects_to_https,
        hsts=endpoint.hsts_observation,
        hsts_max_age=endpoint.hsts_max_age,
    )
    evidence.expected(
        plain_http=msg(
            "port {port}: a redirect to https:// (or refused: nothing served in plaintext)",
            port=target.http_port,
        ),
        hsts_max_age=f">= {policy.hsts_min_max_age}",
    )
    problems: list[Message] = []
    if target.http_port is None:
        raise EvidenceMissing(msg("{endpoint}: the plain-HTTP redirect was not checked", endpoint=target.id))
    if endpoint.http_redirects_to_https is None and not endpoint.http_refused:
        raise EvidenceMissing(
            msg(
                "{endpoint}: plain HTTP could not be checked: {observation}",
                endpoint=target.id,
                observation=endpoint.http_observation,
            )
        )
    if endpoint.http_redirects_to_https is False:
        problems.append(
            msg(
                "plain HTTP on port {port} does not redirect to HTTPS ({observation})",
                port=target.http_port,
                observation=endpoint.http_observation,
            )
        )
    if endpoint.hsts_max_age is None:
        if hsts_unreadable(endpoint.hsts_observation):
            raise EvidenceMissing(
                msg("{endpoint}: {observation}", endpoint=target.id, observation=endpoint.hsts_observation)
            )
        problems.append(msg("no HSTS: {observation}", observation=endpoint.hsts_observation))
    elif endpoint.hsts_max_age < policy.hsts_min_max_age:
        problems.append(
            msg(
                "HSTS max-age={max_age} is below {minimum}",
                max_age=endpoint.hsts_max_age,
                minimum=policy.hsts_min_max_age,
            )
        )
    assert not problems, evidence.fails("{endpoint}: {problems}", endpoint=target.id, problems=problems)
