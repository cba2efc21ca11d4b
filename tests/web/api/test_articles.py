"""/api/v1/collections and /api/v1/articles: CRUD, publishing, examples, search, pagination,
mass assignment and tenant isolation."""

from __future__ import annotations

import pytest

from frontdesk.knowledge.embedders import HashingEmbedder
from frontdesk.knowledge.registry import KnowledgeRegistry
from frontdesk.runtime import Runtime
from tests.web.api.conftest import Api, Tenant, assert_error

RESET = {
    "title": "Reset your password",
    "body": "# Reset your password\n\n## Forgot it\n\nOpen Settings, choose Reset password and "
    "follow the link in the email we send you.",
    "collection": "account",
    "tags": ["password"],
}


@pytest.fixture(autouse=True)
def fake_models(runtime: Runtime) -> None:
    runtime.knowledge = KnowledgeRegistry([HashingEmbedder("e5"), HashingEmbedder("use")])


def test_article_lifecycle(api: Api) -> None:
    created = api.put("/articles/reset-password/versions/en", json=RESET)
    assert created.status_code == 201, created.text
    version = created.json()
    assert version["is_original"] and version["status"] == "draft"
    assert version["collection"] == "account" and version["tags"] == ["password"]

    translated = api.put(
        "/articles/reset-password/versions/th",
        json={"title": "รีเซ็ตรหัสผ่าน", "body": "เปิดการตั้งค่า แล้วเลือกรีเซ็ตรหัสผ่าน", "status": "published"},
    )
    assert translated.status_code == 201
    assert translated.json()["collection"] == "account"  # from the original
    assert not translated.json()["is_original"]

    replaced = api.put("/articles/reset-password/versions/en", json={**RESET, "title": "Reset it"})
    assert replaced.status_code == 200 and replaced.json()["title"] == "Reset it"
    assert replaced.json()["status"] == "draft"  # left out: unchanged

    detail = api.get("/articles/reset-password").json()
    assert detail["key"] == "reset-password" and detail["collection"] == "account"
    assert [(v["language"], v["status"]) for v in detail["versions"]] == [
        ("en", "draft"),
        ("th", "published"),
    ]
    assert detail["versions"][0]["body"].startswith("# Reset your password")

    published = api.post("/articles/reset-password/versions/en/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    listed = api.get("/articles", params={"status": "published"}).json()
    assert {(a["key"], a["language"]) for a in listed["data"]} == {
        ("reset-password", "en"),
        ("reset-password", "th"),
    }
    assert api.get("/articles", params={"language": "th"}).json()["data"][0]["language"] == "th"
    assert len(api.get("/articles", params={"collection": "account"}).json()["data"]) == 2
    assert api.get("/articles", params={"collection": "other"}).json()["data"] == []

    unpublished = api.post("/articles/reset-password/versions/th/unpublish")
    assert unpublished.json()["status"] == "draft"
    assert_error(api.post("/articles/reset-password/versions/de/publish"), 404, "not_found")

    assert api.delete("/articles/reset-password/versions/th").status_code == 204
    assert [v["language"] for v in api.get("/articles/reset-password").json()["versions"]] == ["en"]
    assert api.delete("/articles/reset-password").status_code == 204
    assert_error(api.get("/articles/reset-password"), 404, "not_found")
    assert_error(api.delete("/articles/reset-password"), 404)


def test_bad_input_is_422_with_the_one_shape(api: Api) -> None:
    cases = [
        ("/articles/Bad_Key/versions/en", RESET),
        ("/articles/ok/versions/fr", RESET),
        ("/articles/ok/versions/en", {**RESET, "title": "x" * 301}),
        ("/articles/ok/versions/en", {**RESET, "body": "   "}),
        ("/articles/ok/versions/en", {**RESET, "status": "live"}),
        ("/articles/ok/versions/en", {**RESET, "collection": "Not a slug"}),
        ("/articles/ok/versions/en", {"title": "No body"}),
    ]
    for path, body in cases:
        error = assert_error(api.put(path, json=body), 422, "invalid_input")
        assert error["details"], path
    assert api.get("/articles").json()["data"] == []


def test_mass_assignment_is_refused(api: Api, tenant_b: Tenant) -> None:
    for field, value in (
        ("workspace_id", tenant_b.workspace_id),
        ("id", 1),
        ("is_original", False),
        ("key", "other"),
    ):
        response = api.put("/articles/ok/versions/en", json={**RESET, field: value})
        assert_error(response, 422, "invalid_input")
    assert_error(api.post("/collections", json={"slug": "a", "name": "A", "workspace_id": 1}), 422)
    assert api.get("/articles").json()["data"] == []


def test_collections(api: Api) -> None:
    created = api.post(
        "/collections",
        json={
            "slug": "billing",
            "name": "Billing",
            "description": "Invoices and refunds",
            "translations": {"th": {"name": "การเรียกเก็บเงิน"}, "de": {"name": "Rechnungen"}},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["translations"] == {
        "th": {"name": "การเรียกเก็บเงิน", "description": ""},
        "de": {"name": "Rechnungen", "description": ""},
    }
    assert_error(api.post("/collections", json={"slug": "billing", "name": "Again"}), 409)
    assert_error(
        api.post("/collections", json={"slug": "x", "name": "X", "translations": {"fr": {}}}), 422
    )
    patched = api.patch("/collections/billing", json={"name": "Payments", "position": 3})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Payments" and patched.json()["position"] == 3
    assert patched.json()["translations"]["th"]["name"] == "การเรียกเก็บเงิน"  # unchanged
    assert api.get("/collections/billing").json()["name"] == "Payments"
    assert_error(api.patch("/collections/nope", json={"name": "N"}), 404)
    assert_error(api.get("/collections/nope"), 404)


def test_pagination(api: Api) -> None:
    for n in range(5):
        assert api.post("/collections", json={"slug": f"c{n}", "name": f"C{n}"}).status_code == 201
        assert api.put(f"/articles/a{n}/versions/en", json=RESET).status_code == 201
    assert api.get("/collections").json()["data"][0]["slug"] == "c0"
    for path, count in (("/collections", 6), ("/articles", 5)):  # 6: with RESET's "account"
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = api.get(path, params=params).json()
            seen += [item["id"] for item in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == count and seen == sorted(seen), path
    cursor = api.get("/collections", params={"limit": 2}).json()["next_cursor"]
    assert_error(api.get("/articles", params={"cursor": cursor}), 422)  # another list's cursor
    assert_error(api.get("/articles", params={"cursor": "forged.cursor"}), 422)


def test_examples(api: Api) -> None:
    api.put("/articles/reset-password/versions/en", json=RESET)
    added = api.post(
        "/articles/reset-password/examples", json={"text": "I forgot my password", "language": "en"}
    )
    assert added.status_code == 201, added.text
    example = added.json()
    assert example["source"] == "admin" and example["article_key"] == "reset-password"
    assert_error(
        api.post(
            "/articles/reset-password/examples",
            json={"text": "I forgot my password", "language": "en"},
        ),
        409,
    )
    assert_error(api.post("/articles/nope/examples", json={"text": "q", "language": "en"}), 404)
    assert_error(
        api.post("/articles/reset-password/examples", json={"text": "q", "language": "xx"}), 422
    )
    listed = api.get("/articles/reset-password/examples").json()
    assert [e["text"] for e in listed["data"]] == ["I forgot my password"]
    assert_error(api.delete(f"/articles/other/examples/{example['id']}"), 404)
    assert api.delete(f"/articles/reset-password/examples/{example['id']}").status_code == 204
    assert_error(api.delete(f"/articles/reset-password/examples/{example['id']}"), 404)
    assert api.get("/articles/reset-password/examples").json()["data"] == []


def test_search(api: Api) -> None:
    api.put("/articles/reset-password/versions/en", json={**RESET, "status": "published"})
    api.put(
        "/articles/shipping/versions/en",
        json={
            "title": "Shipping costs",
            "body": "Delivery to every country costs 10 euros and takes a week.",
            "status": "published",
        },
    )
    api.put(
        "/articles/secret/versions/en",
        json={"title": "Draft about passwords", "body": "Reset password draft text."},
    )
    found = api.get("/articles/search", params={"q": "how do I reset my password", "k": 2})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["language"] == "en"
    keys = [hit["article_key"] for hit in body["data"]]
    assert keys[0] == "reset-password"
    assert "secret" not in keys  # drafts are not searchable
    assert body["data"][0]["title"] == "Reset your password"
    assert len(keys) <= 2

    # An example question in Thai leads a Thai query to the English-only article.
    api.post("/articles/shipping/examples", json={"text": "ค่าส่งเท่าไหร่", "language": "th"})
    thai = api.get("/articles/search", params={"q": "ค่าส่งเท่าไหร่ครับ"}).json()
    assert thai["language"] == "th"
    assert thai["data"][0]["article_key"] == "shipping"
    assert thai["data"][0]["language"] == "en"

    # An edit is searchable on the next query.
    api.put(
        "/articles/shipping/versions/en",
        json={"title": "Shipping costs", "body": "Parcels travel by zeppelin."},
    )
    zeppelin = api.get("/articles/search", params={"q": "zeppelin"}).json()
    assert zeppelin["data"][0]["article_key"] == "shipping"

    assert_error(api.get("/articles/search"), 422)
    assert_error(api.get("/articles/search", params={"q": "x", "k": 0}), 422)
    assert_error(api.get("/articles/search", params={"q": "x", "language": "fr"}), 422)
    assert api.get("/articles/search", params={"q": "   "}).json()["data"] == []


def test_tenant_isolation(api: Api, client: object, tenant_b: Tenant) -> None:
    api.put("/articles/reset-password/versions/en", json={**RESET, "status": "published"})
    example = api.post(
        "/articles/reset-password/examples", json={"text": "forgot password", "language": "en"}
    ).json()
    api.post("/collections", json={"slug": "billing", "name": "Billing"})
    other = Api(api.client, tenant_b)
    assert_error(other.get("/articles/reset-password"), 404)
    assert_error(other.post("/articles/reset-password/versions/en/publish"), 404)
    assert_error(other.post("/articles/reset-password/versions/en/unpublish"), 404)
    assert_error(other.delete("/articles/reset-password"), 404)
    assert_error(other.delete("/articles/reset-password/versions/en"), 404)
    assert_error(other.get("/articles/reset-password/examples"), 404)
    assert_error(other.delete(f"/articles/reset-password/examples/{example['id']}"), 404)
    assert_error(
        other.post("/articles/reset-password/examples", json={"text": "x", "language": "en"}), 404
    )
    assert_error(other.patch("/collections/billing", json={"name": "Mine"}), 404)
    assert other.get("/articles").json()["data"] == []
    assert other.get("/collections").json()["data"] == []
    assert other.get("/articles/search", params={"q": "reset password"}).json()["data"] == []
    # B writing the same key makes B's own article; A's is untouched.
    assert (
        other.put("/articles/reset-password/versions/en", json={**RESET, "title": "B"}).status_code
        == 201
    )
    assert api.get("/articles/reset-password").json()["versions"][0]["title"] == RESET["title"]
    assert api.get("/articles/reset-password").json()["versions"][0]["status"] == "published"
    assert len(api.get("/articles/reset-password/examples").json()["data"]) == 1


def test_needs_a_token(api: Api) -> None:
    for method, path in (
        ("GET", "/api/v1/articles"),
        ("GET", "/api/v1/articles/search?q=x"),
        ("GET", "/api/v1/collections"),
        ("PUT", "/api/v1/articles/a/versions/en"),
    ):
        response = api.client.request(method, path, json=RESET if method == "PUT" else None)
        assert_error(response, 401, "unauthorized")
