"""Who the auditor was in Azure: the principal its access token was issued to.

An auditor relying on the evidence wants the executor's identity, not only "DefaultAzureCredential".
The token's claims say it (object id, tenant, application id, name); they are read from the
token's payload without verifying it, because they only describe the auditor's own identity
and are never used to decide anything. The token itself is never kept.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential


@dataclass(frozen=True)
class AzurePrincipal:
    """The identity an Azure access token was issued to (claims oid, tid, appid/azp, upn/name, idtyp)."""

    object_id: str
    tenant_id: str
    app_id: str
    name: str
    kind: str
    """'user', 'app' (service principal or managed identity), or '' when the token does not say."""


def principal_from_token(token: str) -> AzurePrincipal | None:
    """Return the principal named in a JWT access token's claims, or None for a token that is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict) or not claims.get("oid"):
        return None

    def claim(*names: str) -> str:
        return next((str(claims[n]) for n in names if claims.get(n)), "")

    kind = claim("idtyp") or (
        "user" if claim("upn", "preferred_username") else ("app" if claim("appid") else "")
    )
    return AzurePrincipal(
        object_id=claim("oid"),
        tenant_id=claim("tid"),
        app_id=claim("appid", "azp"),
        name=claim("upn", "preferred_username", "unique_name", "name"),
        kind=kind,
    )


class PrincipalObservingCredential:
    """Wraps a credential and notes, from the first token it hands out, whose identity it is."""

    def __init__(self, inner: TokenCredential) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.principal: AzurePrincipal | None = None

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the inner credential's token, noting its principal the first time."""
        token = self._inner.get_token(*scopes, **kwargs)
        if self.principal is None:
            with self._lock:
                if self.principal is None:
                    self.principal = principal_from_token(token.token)
        return token
