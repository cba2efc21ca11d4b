"""Every setting is documented in docs/configuration.md (and nothing there is stale)."""

from __future__ import annotations

import re
from pathlib import Path

from frontdesk.config import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented_and_no_stale_entry() -> None:
    documented = set(re.findall(r"`FRONTDESK_([A-Z0-9_]+)`", DOC.read_text()))
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set(), "undocumented settings"
    assert documented - settings == set(), "documented settings that do not exist"


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []
