"""GET /widget/v1/{slug}/texts: the widget's texts in the visitor's language without a session,
so that a widget whose session is refused (429, 5xx) still speaks the visitor's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from frontdesk.web.widget.texts import TEXTS
from tests.conftest import make_settings
from tests.web.widget.site import SHOP, counts, make_site, start

pytestmark = pytest.mark.usefixtures("one_rate_window")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path, database_url, rate_widget_sessions_per_hour=1, rate_widget_ip_per_minute=6
    )


def test_texts_come_in_the_visitors_language_and_create_no_visitor(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime, name="Northwind")
    before = counts(runtime)
    response = client.get(
        f"{site.api}/texts",
        params=[("locale", "el-GR"), ("locale", "en-US")],
        headers={"Origin": SHOP},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["language"] == "el"
    assert data["texts"]["title"] == "Συνομιλία με Northwind"
    assert data["texts"]["placeholder"] == "Γράψτε ένα μήνυμα…"
    assert data["texts"]["offline"] == TEXTS["el"]["offline"]
    assert data["workspace"] == {"slug": site.slug, "name": "Northwind"}
    assert data["limits"]["max_message_chars"] == runtime.settings.max_message_chars
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["cache-control"] == "public, max-age=300"
    assert "Origin" in response.headers["vary"]
    assert counts(runtime) == before  # nobody was created

    # Exactly what a session in the same languages brings.
    session = start(client, site, browser_locales=["el-GR", "en-US"])
    assert {key: session[key] for key in data} == data


def test_page_locale_comes_first_then_the_workspace_language(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime, default_language="de")
    url = f"{site.api}/texts"
    assert client.get(url, params=[("locale", "th"), ("locale", "es-MX")]).json()["language"] == (
        "th"
    )
    assert client.get(url, params=[("locale", "pt-BR"), ("locale", "es")]).json()["language"] == (
        "es"
    )
    fallback = client.get(url, params={"locale": "fr-FR"}).json()
    assert fallback["language"] == "de" and fallback["texts"]["send"] == "Senden"
    assert client.get(url).json()["language"] == "de"


def test_texts_still_come_when_no_new_visitor_is_let_in(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    start(client, site)  # the one new visitor this address may create this hour
    refused = client.post(
        f"{site.api}/session", json={"browser_locales": ["el-GR"]}, headers={"Origin": SHOP}
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Retry-After" in refused.headers["access-control-expose-headers"]
    texts = client.get(f"{site.api}/texts", params={"locale": "el-GR"}, headers={"Origin": SHOP})
    assert texts.status_code == 200
    assert texts.json()["texts"]["talk_to_person"] == "Μιλήστε με άνθρωπο"
    assert counts(runtime)["customers"] == 1


def test_texts_are_not_taken_away_by_the_address_limit(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    again = {"visitor_token": start(client, site)["visitor_token"]}
    # Returning visits use up the 6 requests a minute of this address.
    statuses = [client.post(f"{site.api}/session", json=again).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = client.get(f"{site.api}/texts", params={"locale": "zh-CN"})
    assert response.status_code == 200
    assert response.json()["texts"]["offline"] == TEXTS["zh"]["offline"]


def test_bad_requests_are_refused_clearly_and_change_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime)
    before = counts(runtime)
    too_long = client.get(f"{site.api}/texts", params={"locale": "x" * 36})
    assert too_long.status_code == 422
    error = too_long.json()["error"]
    assert error["code"] == "invalid_input" and "locale" in error["message"]
    assert "35 characters" in error["message"]

    too_many = client.get(f"{site.api}/texts", params=[("locale", "en")] * 12)
    assert too_many.status_code == 422
    assert "locale" in too_many.json()["error"]["message"]

    unknown = client.get("/widget/v1/no-such-shop/texts")
    assert unknown.status_code == 404
    assert "data-workspace" in unknown.json()["error"]["message"]

    stranger = client.get(f"{site.api}/texts", headers={"Origin": "https://evil.example"})
    assert stranger.status_code == 403
    assert "allowed widget origins" in stranger.json()["error"]["message"]
    assert counts(runtime) == before
