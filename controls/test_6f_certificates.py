"""6f: every web solution has a valid SSL certificate and enforces HTTPS (privacy by design)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from collectors.config import Policy
from collectors.tls.facts import TlsEndpoint, hostname_matches
from controls.framework import Evidence, EvidenceMissing, NotApplicable, control

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
        raise EvidenceMissing(f"{endpoint.target.id}: the server sent no certificate the scanner could read")
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
    problems: list[str] = []
    if not chain_valid:
        problems.append(
            f"the chain does not validate to {cert.trust_store}: {cert.validation_error or 'no reason recorded'}"
        )
    if not name_matches:
        problems.append(
            f"{endpoint.target.server_name} is not among the certificate's names {list(cert.names)}"
        )
    if cert.not_before.date() > run_date:
        problems.append(f"not yet valid on {run_date.isoformat()} (from {cert.not_before.isoformat()})")
    if left <= 0:
        problems.append(f"expired on {cert.not_after.isoformat()}")
    elif left <= policy.cert_min_days:
        problems.append(f"expires in {left:.1f} days (policy.cert_min_days is {policy.cert_min_days})")
    assert not problems, f"{endpoint.target.id}: " + "; ".join(problems)


@control("6f.https-enforced", over="tls.endpoints")
def test_endpoint_enforces_https(endpoint: TlsEndpoint, policy: Policy, evidence: Evidence) -> None:
    target = endpoint.target
    if target.scheme != "https" or target.starttls is not None:
        raise NotApplicable(f"{target.id} is not a web (https://) endpoint")
    evidence.observed(
        plain_http=endpoint.http_observation,
        http_redirects_to_https=endpoint.http_redirects_to_https,
        hsts=endpoint.hsts_observation,
        hsts_max_age=endpoint.hsts_max_age,
    )
    evidence.expected(
        plain_http=f"port {target.http_port}: a redirect to https:// (or refused: nothing served in plaintext)",
        hsts_max_age=f">= {policy.hsts_min_max_age}",
    )
    problems: list[str] = []
    if target.http_port is None:
        raise EvidenceMissing(f"{target.id}: the plain-HTTP redirect was not checked")
    if endpoint.http_redirects_to_https is None and not endpoint.http_refused:
        raise EvidenceMissing(f"{target.id}: plain HTTP could not be checked: {endpoint.http_observation}")
    if endpoint.http_redirects_to_https is False:
        problems.append(
            f"plain HTTP on port {target.http_port} does not redirect to HTTPS ({endpoint.http_observation})"
        )
    if endpoint.hsts_max_age is None:
        if endpoint.hsts_observation.startswith(("HTTP headers could not", "HTTPS request failed")):
            raise EvidenceMissing(f"{target.id}: {endpoint.hsts_observation}")
        problems.append(f"no HSTS: {endpoint.hsts_observation}")
    elif endpoint.hsts_max_age < policy.hsts_min_max_age:
        problems.append(f"HSTS max-age={endpoint.hsts_max_age} is below {policy.hsts_min_max_age}")
    assert not problems, f"{target.id}: " + "; ".join(problems)
