from __future__ import annotations

import pytest
from sqlalchemy import func, select

from frontdesk.errors import InvalidInput, NotFound
from frontdesk.runtime import Runtime
from frontdesk.store.models import WebhookDelivery, WebhookEndpoint
from frontdesk.webhooks.endpoints import (
    access_endpoint,
    create_endpoint,
    delete_endpoint,
    endpoint_public,
    list_endpoints,
    rotate_secret,
    update_endpoint,
)
from frontdesk.webhooks.urlcheck import UnsafeURL
from tests.factories import make_customer, make_message, make_workspace


def count_endpoints(runtime: Runtime) -> int:
    with runtime.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0)


def test_create_list_update_delete(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        endpoint = create_endpoint(
            s, ws, url="http://127.0.0.1:9/a", event_types=["message_received", "agent_replied"]
        )
        first_secret = endpoint.secret
        assert first_secret.startswith("whsec_")
        assert endpoint.event_types == ["agent_replied", "message_received"]
        public = endpoint_public(endpoint)
        assert "secret" not in public and public["active"] is True
        assert endpoint_public(endpoint, with_secret=True)["secret"] == first_secret
        ids = ws.id, endpoint.id
    with runtime.db.write() as s:
        endpoint = access_endpoint(s, ids[0], ids[1])
        update_endpoint(s, endpoint, url="http://127.0.0.1:9/b", event_types=[], active=False)
        assert rotate_secret(s, endpoint) != first_secret
    with runtime.db.read() as s:
        [stored] = list_endpoints(s, ids[0])
        assert (stored.url, stored.event_types, stored.active) == (
            "http://127.0.0.1:9/b",
            [],
            False,
        )
    with runtime.db.write() as s:
        delete_endpoint(s, access_endpoint(s, ids[0], ids[1]))
    assert count_endpoints(runtime) == 0


@pytest.mark.parametrize(
    ("url", "types"),
    [
        ("ftp://127.0.0.1/x", None),
        ("http://user:pw@127.0.0.1/x", None),
        ("not a url", None),
        ("http://127.0.0.1:9/x", ["message_received", "no_such_event"]),
        ("http://127.0.0.1:9/x", "message_received"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    runtime: Runtime, url: str, types: list[str] | None
) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
    with pytest.raises(InvalidInput) as info, runtime.db.write() as s:
        create_endpoint(s, s.merge(ws), url=url, event_types=types)
    assert info.value.status == 422 and info.value.message
    assert count_endpoints(runtime) == 0


def test_inward_url_refused_without_the_setting(runtime: Runtime) -> None:
    runtime.settings.webhook_allow_private = False
    with runtime.db.write() as s:
        ws = make_workspace(s)
    for url in (
        "http://127.0.0.1/x",
        "http://169.254.169.254/",
        "http://[::1]/",
        "http://0x7f000001/",
    ):
        with pytest.raises(UnsafeURL), runtime.db.write() as s:
            create_endpoint(s, s.merge(ws), url=url)
    assert count_endpoints(runtime) == 0


def test_update_checks_everything_before_changing_anything(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        ws = make_workspace(s)
        endpoint = create_endpoint(s, ws, url="http://127.0.0.1:9/a")
        ids = ws.id, endpoint.id
    with pytest.raises(InvalidInput), runtime.db.write() as s:
        update_endpoint(
            s, access_endpoint(s, *ids), url="http://127.0.0.1:9/new", event_types=["bogus"]
        )
    with runtime.db.read() as s:
        assert access_endpoint(s, *ids).url == "http://127.0.0.1:9/a"


def test_other_workspace_gets_not_found(runtime: Runtime) -> None:
    with runtime.db.write() as s:
        a = make_workspace(s, "A")
        b = make_workspace(s, "B")
        endpoint = create_endpoint(s, a, url="http://127.0.0.1:9/a")
        ids = b.id, endpoint.id
    with pytest.raises(NotFound), runtime.db.read() as s:
        access_endpoint(s, *ids)
    with pytest.raises(NotFound), runtime.db.read() as s:
        access_endpoint(s, ids[0], 999_999)


def test_deleting_an_endpoint_deletes_its_deliveries(runtime: Runtime) -> None:
    runtime.jobs.huey.immediate = False  # keep the deliveries pending
    with runtime.db.write() as s:
        ws = make_workspace(s)
        endpoint = create_endpoint(s, ws, url="http://127.0.0.1:9/a")
        make_message(s, ws, make_customer(s, ws))
        ids = ws.id, endpoint.id
    with runtime.db.write() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
        delete_endpoint(s, access_endpoint(s, *ids))
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
