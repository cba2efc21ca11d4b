"""Row 22: many writers on SQLite never surface "database is locked"."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from frontdesk.config import Settings
from frontdesk.inbound import InboundMessage, receive
from frontdesk.runtime import Runtime
from frontdesk.store.models import Message
from tests.conftest import make_settings
from tests.factories import make_customer, make_workspace


def test_many_concurrent_writers_on_sqlite(tmp_path: Path) -> None:
    settings: Settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'busy.db'}")
    runtime = Runtime.build(settings)
    with runtime.db.write() as s:
        ws = make_workspace(s)
        customers = [make_customer(s, ws).id for _ in range(8)]
        ws_id = ws.id
    errors: list[BaseException] = []

    def customer_writes(customer_id: int) -> None:
        try:
            conversation_id = None
            for i in range(15):
                result = receive(
                    runtime.db,
                    InboundMessage(
                        workspace_id=ws_id,
                        channel="chat",
                        customer_id=customer_id,
                        text=f"message {i}",
                        conversation_id=conversation_id,
                        client_id=f"{customer_id}-{i}",
                    ),
                )
                conversation_id = result.conversation_id
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=customer_writes, args=(c,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with runtime.db.read() as s:
        stored = s.scalar(select(func.count(Message.id)).where(Message.author_type == "customer"))
    runtime.close()
    assert errors == []
    assert stored == 8 * 15
