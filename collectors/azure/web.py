"""App Service facts: web apps and their deployment slots, with TLS, HTTPS-only and FTPS settings and host names.

The site list says where each app runs, whether it is HTTPS-only and which host names it
serves; the TLS floors and the FTP(S) state are read from `config/web`, because the siteConfig
inside a list response is a partial copy. Each app's deployment slots (`{site}/slots`) are their
own sites, with their own httpsOnly, TLS and FTPS settings, host names and region: they are
listed per app and read exactly like apps (`{site}/slots/{slot}/config/web`). Connection strings
and app settings are not read here: their list actions (POST) return secrets, so only the
opt-in `collectors.azure.connection_strings` reads them, reducing each to server, database and
user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import Site

from collectors.azure import fields
from collectors.azure.arm import ResponseHook
from collectors.azure.base import AzureCollector, resource_group_of
from collectors.azure.facts import AZURE_ENDPOINTS, AZURE_RESOURCES, UNKNOWN_REGION, WEB_APPS, WebApp
from collectors.azure.reading import Unreadable
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed
from collectors.regions import normalise_region
from reports.evidence import Message, Source, msg

SITE_TYPE = "Microsoft.Web/sites"
SLOT_TYPE = "Microsoft.Web/sites/slots"
APP_SERVICE_ENDPOINT = "app-service"
"""Endpoint kind of a web app's own host names (default and custom domains)."""
SCM_ENDPOINT = "app-service-scm"
"""Endpoint kind of a web app's deployment (SCM/Kudu) host names."""


@dataclass(frozen=True)
class ListedSite:
    """A site (app or slot) as its list answer describes it, before its config/web is read."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    kind: str | None
    state: str | None
    https_only: bool | None
    host_names: tuple[str, ...] | None
    """Every enabled host name (None when the answer names none: the endpoints are unknown)."""
    scm_host_names: frozenset[str]
    slot: str | None = None
    app_name: str | None = None

    @property
    def resource_type(self) -> str:
        """Return the ARM type: Microsoft.Web/sites, or Microsoft.Web/sites/slots for a slot."""
        return SITE_TYPE if self.slot is None else SLOT_TYPE

    @property
    def label(self) -> Message:
        """Return how messages name it (see `WebApp.label`)."""
        if self.slot is None:
            return msg("web app {name}", name=self.name)
        return msg("deployment slot {slot} of web app {app}", slot=self.slot, app=self.app_name)


def enabled_host_names(site: Any) -> tuple[str, ...] | None:
    """Return the host names a site serves (default, custom and SCM), lower-case, each once.

    None when the answer has no `enabledHostNames`: every site serves at least its default
    host name, so an absent list means the endpoints are unknown, not that there are none.
    """
    found = fields.texts(site, "enabled_host_names", "enabledHostNames")
    if found is None:
        return None
    return tuple(dict.fromkeys(host.lower().rstrip(".") for host in found if host.strip()))


def scm_host_names(site: Any) -> frozenset[str]:
    """Return the site's deployment (SCM/Kudu) host names.

    ARM marks them with hostType "Repository" in hostNameSslStates; a host whose second label
    is `scm` (app.scm.azurewebsites.net, app.scm.<ase>.appserviceenvironment.net) counts too.
    """
    states = fields.items(site, "host_name_ssl_states", "hostNameSslStates") or []
    marked = set()
    for index, state in enumerate(states):
        name = fields.text(state, "name", f"hostNameSslStates[{index}].name", nested=False)
        kind = fields.text(state, "host_type", f"hostNameSslStates[{index}].hostType", nested=False)
        if name and kind == "Repository":
            marked.add(name.lower().rstrip("."))
    hosts = enabled_host_names(site) or ()
    return frozenset(marked | {h for h in hosts if h.split(".")[1:2] == ["scm"]})


def listed_site(model: Any, subscription_id: str, app_name: str | None = None) -> ListedSite:
    """Return a site or slot from its list answer (absent settings stay None)."""
    site_id = fields.resource_id(model, msg("the site"))
    name = fields.resource_name(model)
    slot = None
    if app_name is not None:
        slot = name.rsplit("/", 1)[-1] if "/" in name else site_id.rstrip("/").rsplit("/", 1)[-1]
    return ListedSite(
        id=site_id,
        name=name,
        subscription_id=subscription_id,
        resource_group=resource_group_of(site_id),
        location=normalise_region(fields.text(model, "location", "location", nested=False) or UNKNOWN_REGION),
        kind=fields.text(model, "kind", "kind", nested=False),
        state=fields.text(model, "state", "state"),
        https_only=fields.flag(model, "https_only", "httpsOnly"),
        host_names=enabled_host_names(model),
        scm_host_names=scm_host_names(model),
        slot=slot,
        app_name=app_name,
    )


def web_app_of(site: ListedSite, config: Any) -> WebApp:
    """Return the judged fact of a site or slot: its list entry plus its `config/web`."""
    fields.obj(config, "config/web")
    return WebApp(
        id=site.id,
        name=site.name,
        subscription_id=site.subscription_id,
        resource_group=site.resource_group,
        location=site.location,
        kind=site.kind,
        state=site.state,
        https_only=site.https_only,
        min_tls_version=fields.text(config, "min_tls_version", "minTlsVersion"),
        scm_min_tls_version=fields.text(config, "scm_min_tls_version", "scmMinTlsVersion"),
        ftps_state=fields.text(config, "ftps_state", "ftpsState"),
        host_names=site.host_names or (),
        slot=site.slot,
        app_name=site.app_name,
    )


class WebAppCollector(AzureCollector):
    """Reads App Service (apps and their deployment slots) and fills `azure.web_apps`."""

    populations = (WEB_APPS, AZURE_RESOURCES, AZURE_ENDPOINTS)
    listed_types = (SITE_TYPE, SLOT_TYPE)

    def web(self, subscription_id: str) -> WebSiteManagementClient:
        """Return the App Service management client of a subscription."""
        return self.client(WebSiteManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """List the sites of every subscription and each site's slots, then read each one's configuration."""
        sites = [entry for found in self.arm.map(self._sites_of, subscriptions) for entry in found]
        slots = [entry for found in self.arm.map(self._slots_of, sites) for entry in found]
        every = [*sites, *slots]
        for site, sources in every:
            self._locate_and_publish(site, sources)
        self.context.progress(
            f"azure: reading the configuration of {len(sites)} web app(s) and {len(slots)} deployment slot(s)"
        )
        self.arm.map(self._configuration_of, every)

    def _locate_and_publish(self, site: ListedSite, sources: tuple[Source, ...]) -> None:
        self.locate(site.id, site.resource_type, site.location, sources)
        if site.host_names is None:
            reason = msg(
                "{site} reports no enabledHostNames: the host names it serves are unknown", site=site.label
            )
            self.errors_for(f"{site.id}/hostNames", (AZURE_ENDPOINTS,), sources)(Unreadable(reason))
            return
        for host in site.host_names:
            kind = SCM_ENDPOINT if host in site.scm_host_names else APP_SERVICE_ENDPOINT
            self.publish_endpoint(host, 443, kind, site.id, sources)

    def _sites_of(self, subscription: AzureSubscription) -> list[tuple[ListedSite, tuple[Source, ...]]]:
        # The host names are unknown too when the list fails: the endpoint scans get an error, not a gap.
        found = self.read_items_in(
            subscription,
            SITE_TYPE,
            lambda hook: self.web(subscription.id).web_apps.list(raw_response_hook=hook),
            Site,
            lambda model: listed_site(model, subscription.id),
            item=msg("a web app"),
            populations=(WEB_APPS, AZURE_ENDPOINTS),
        )
        if found is None:
            return []
        sites, fetched = found
        return [(site, fetched.sources) for site in sites]

    def _slots_of(
        self, entry: tuple[ListedSite, tuple[Source, ...]]
    ) -> list[tuple[ListedSite, tuple[Source, ...]]]:
        app, _ = entry
        found = self.read_items(
            msg("deployment slots of web app {app} could not be listed", app=app.name),
            app.id,
            SLOT_TYPE,
            lambda hook: self.web(app.subscription_id).web_apps.list_slots(
                app.resource_group, app.name, raw_response_hook=hook
            ),
            Site,
            lambda model: listed_site(model, app.subscription_id, app_name=app.name),
            item=msg("a deployment slot of web app {app} could not be read", app=app.name),
            list_subject=f"{app.id}/slots",
            populations=(WEB_APPS, AZURE_RESOURCES, AZURE_ENDPOINTS),
        )
        if found is None:
            return []
        slots, fetched = found
        return [(slot, fetched.sources) for slot in slots]

    def _configuration_of(self, entry: tuple[ListedSite, tuple[Source, ...]]) -> None:
        site, list_sources = entry
        found = self.read_parsed(
            msg("configuration (config/web) of {site} could not be read", site=site.label),
            self._configuration_call(site),
            lambda config: web_app_of(site, config),
            failed=self.errors_for(site.id, (WEB_APPS,), list_sources),
        )
        if found is not None:
            app, sources = found
            self.population(WEB_APPS).add(observed(site.id, app, (*list_sources, *sources)))

    def _configuration_call(self, site: ListedSite) -> Callable[[ResponseHook], Any]:
        """Return the SDK call that reads the config/web of an app, or of a deployment slot."""
        web_apps = self.web(site.subscription_id).web_apps
        if site.slot is None:
            return lambda hook: web_apps.get_configuration(
                site.resource_group, site.name, raw_response_hook=hook
            )
        app_name, slot = site.app_name or site.name.split("/", 1)[0], site.slot
        return lambda hook: web_apps.get_configuration_slot(
            site.resource_group, app_name, slot, raw_response_hook=hook
        )
