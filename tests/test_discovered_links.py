"""Links discovered in App Service connection strings reach the 12d application facts."""

from __future__ import annotations

from collectors.azure.facts import AppDatabaseLinks
from collectors.azure.facts import DatabaseLink as SiteLink
from collectors.databases.applications import DISCOVERED_LINKS, discovered_links
from collectors.facts import FactStore, observed, unobservable
from collectors.messages import english_text


def test_site_connection_strings_become_application_links() -> None:
    store = FactStore()
    site = AppDatabaseLinks(
        site="shop-web",
        links=(
            SiteLink("sql-prod.database.windows.net", "shop", "shop_app", "connection string Default"),
            SiteLink("sql-prod.database.windows.net", "crm", "shop_app", "app setting CRM_DB"),
        ),
    )
    store.population(DISCOVERED_LINKS).add(observed("/subscriptions/s/sites/shop-web", site))
    links, problems = discovered_links(store)
    assert problems == []
    assert [(link.application, link.database) for link in links] == [
        ("shop-web", "shop"),
        ("shop-web", "crm"),
    ]
    assert all("shop-web" in link.source for link in links)


def test_unreadable_site_is_a_note_not_silence() -> None:
    store = FactStore()
    store.population(DISCOVERED_LINKS).add(
        unobservable("/subscriptions/s/sites/api", "403: needs Microsoft.Web/sites/config/list/action")
    )
    links, problems = discovered_links(store)
    assert links == []
    assert len(problems) == 1
    assert "Microsoft.Web/sites/config/list/action" in english_text(problems[0])
