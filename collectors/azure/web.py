"""App Service facts: web apps with their TLS, HTTPS-only and FTPS settings, and the host names they serve.

The site list says where each app runs, whether it is HTTPS-only and which host names it
serves; the TLS floors and the FTP(S) state are read from `config/web`, because the siteConfig
inside a list response is a partial copy. Connection strings and app settings are not read
here: their list actions (POST) return secrets, so only the opt-in
`collectors.azure.connection_strings` reads them, reducing each to server, database and user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import Site

from collectors.azure.arm import describe_failure
from collectors.azure.base import (
    AZURE_ENDPOINTS,
    AZURE_RESOURCES,
    AzureCollector,
    prop,
    resource_group_of,
    text_of,
)
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.provenance import Source
from collectors.regions import normalise_region

WEB_APPS = "azure.web_apps"
SITE_TYPE = "Microsoft.Web/sites"
APP_SERVICE_ENDPOINT = "app-service"
"""Endpoint kind of a web app's own host names (default and custom domains)."""
SCM_ENDPOINT = "app-service-scm"
"""Endpoint kind of a web app's deployment (SCM/Kudu) host names."""


@dataclass(frozen=True)
class WebApp:
    """An App Service web app (or function app) with the transport settings 12f judges."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    kind: str | None
    state: str | None
    https_only: bool | None
    min_tls_version: str | None
    scm_min_tls_version: str | None
    ftps_state: str | None
    host_names: tuple[str, ...]


def enabled_host_names(site: Any) -> tuple[str, ...]:
    """Return the host names a site serves (default, custom and SCM), lower-case, each once."""
    hosts = (str(host).lower().rstrip(".") for host in prop(site, "enabled_host_names") or ())
    return tuple(dict.fromkeys(hosts))


def scm_host_names(site: Any) -> frozenset[str]:
    """Return the site's deployment (SCM/Kudu) host names.

    ARM marks them with hostType "Repository" in hostNameSslStates; a host whose second label
    is `scm` (app.scm.azurewebsites.net, app.scm.<ase>.appserviceenvironment.net) counts too.
    """
    states = prop(site, "host_name_ssl_states") or ()
    marked = {
        str(state.name).lower().rstrip(".")
        for state in states
        if getattr(state, "name", None) and (text_of(getattr(state, "host_type", None)) or "") == "Repository"
    }
    return frozenset(marked | {h for h in enabled_host_names(site) if h.split(".")[1:2] == ["scm"]})


class WebAppCollector(AzureCollector):
    """Reads App Service for the subscriptions in scope and fills `azure.web_apps`."""

    populations = (WEB_APPS, AZURE_RESOURCES, AZURE_ENDPOINTS)
    listed_types = (SITE_TYPE,)

    def web(self, subscription_id: str) -> WebSiteManagementClient:
        """Return the App Service management client of a subscription."""
        return self.client(WebSiteManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """List the sites of every subscription, then read each site's configuration."""
        sites = [entry for found in self.arm.map(self._sites_of, subscriptions) for entry in found]
        for _, site, sources in sites:
            site_id = str(site.id)
            self.locate(site_id, SITE_TYPE, text_of(site.location), sources)
            scm = scm_host_names(site)
            for host in enabled_host_names(site):
                kind = SCM_ENDPOINT if host in scm else APP_SERVICE_ENDPOINT
                self.publish_endpoint(host, 443, kind, site_id, sources)
        self.context.progress(f"azure: reading the configuration of {len(sites)} web app(s)")
        self.arm.map(self._configuration_of, sites)

    def _sites_of(self, subscription: AzureSubscription) -> list[tuple[str, Any, tuple[Source, ...]]]:
        try:
            fetched = self.listing(
                subscription.resource_id,
                SITE_TYPE,
                lambda hook: self.web(subscription.id).web_apps.list(raw_response_hook=hook),
                Site,
            )
        except AzureError as exc:
            # The host names are unknown too: the endpoint scans get an error, not a gap.
            self.could_not_list(subscription, SITE_TYPE, exc, (WEB_APPS, AZURE_ENDPOINTS))
            return []
        return [(subscription.id, site, fetched.sources) for site in fetched.value]

    def _configuration_of(self, entry: tuple[str, Any, tuple[Source, ...]]) -> None:
        subscription_id, site, list_sources = entry
        site_id, name = str(site.id), str(site.name)
        resource_group = resource_group_of(site_id)
        try:
            fetched = self.arm.fetch(
                lambda hook: self.web(subscription_id).web_apps.get_configuration(
                    resource_group, name, raw_response_hook=hook
                )
            )
        except AzureError as exc:
            reason = (
                f"configuration (config/web) of web app {name} could not be read: {describe_failure(exc)}"
            )
            self.population(WEB_APPS).add(unobservable(site_id, reason, list_sources))
            return
        config = fetched.value
        https_only = prop(site, "https_only")
        app = WebApp(
            id=site_id,
            name=name,
            subscription_id=subscription_id,
            resource_group=resource_group,
            location=normalise_region(text_of(site.location) or "unknown"),
            kind=text_of(getattr(site, "kind", None)),
            state=text_of(prop(site, "state")),
            https_only=None if https_only is None else bool(https_only),
            min_tls_version=text_of(prop(config, "min_tls_version")),
            scm_min_tls_version=text_of(prop(config, "scm_min_tls_version")),
            ftps_state=text_of(prop(config, "ftps_state")),
            host_names=enabled_host_names(site),
        )
        self.population(WEB_APPS).add(observed(site_id, app, (*list_sources, *fetched.sources)))
