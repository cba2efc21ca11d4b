from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from frontdesk.runtime import Runtime, install
from frontdesk.store.models import WebhookDelivery
from frontdesk.webhooks.delivery import attempt_delivery
from frontdesk.webhooks.endpoints import create_endpoint
from tests.conftest import make_settings
from tests.factories import make_customer, make_message, make_workspace
from tests.webhooks.receiver import Receiver


def frontdesk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frontdesk.cli", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dead_letter_list_and_replay_from_the_command_line(
    tmp_path: Path, receiver: Receiver
) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    settings = make_settings(tmp_path, db_url, webhook_allow_private=True, webhook_max_attempts=1)
    runtime = Runtime.build(settings)
    runtime.jobs.huey.immediate = True
    install(runtime)
    receiver.default_status = 503
    try:
        with runtime.db.write() as s:
            ws = make_workspace(s)
            create_endpoint(s, ws, url=receiver.url, event_types=["message_received"])
            make_message(s, ws, make_customer(s, ws))
        with runtime.db.read() as s:
            [row] = s.query(WebhookDelivery).all()
        assert row.status == "dead"

        env = {
            "FRONTDESK_DATA_DIR": str(settings.data_dir),
            "FRONTDESK_DATABASE_URL": db_url,
            "FRONTDESK_REDIS_URL": "",
            "FRONTDESK_LOG_LEVEL": "WARNING",
        }
        listed = frontdesk(env, "webhooks", "dead")
        assert listed.returncode == 0, listed.stderr
        assert row.id in listed.stdout and "HTTP 503" in listed.stdout

        replayed = frontdesk(env, "webhooks", "replay", row.id)
        assert replayed.returncode == 0, replayed.stderr
        assert "pending again" in replayed.stdout
        with runtime.db.read() as s:
            assert s.get_one(WebhookDelivery, row.id).status == "pending"
        assert "No dead webhook deliveries" in frontdesk(env, "webhooks", "dead").stdout

        receiver.default_status = 200
        assert attempt_delivery(runtime, row.id) == "delivered"

        again = frontdesk(env, "webhooks", "replay", row.id)
        assert again.returncode == 2 and "only dead deliveries" in again.stderr
        missing = frontdesk(env, "webhooks", "replay", "nope")
        assert missing.returncode == 2 and "was not found" in missing.stderr
    finally:
        runtime.close()
