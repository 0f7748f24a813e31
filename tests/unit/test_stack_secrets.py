"""The local stack's secrets file: private, stable across restarts, upgraded in place."""

from __future__ import annotations

import json
from pathlib import Path

from skillflow.settings import Settings
from skillflow.stack.local import StackSecrets


def test_a_new_data_folder_gets_its_own_payload_key_in_a_private_file(tmp_path: Path) -> None:
    made = StackSecrets.load_or_create(tmp_path)
    path = tmp_path / "secrets.json"
    assert path.stat().st_mode & 0o777 == 0o600
    settings = Settings(payload_keys=made.payload_keys, payload_key_id=made.payload_key_id)  # type: ignore[arg-type]
    assert not settings.uses_development_payload_key
    assert StackSecrets.load_or_create(tmp_path) == made  # the same key after a restart


def test_secrets_from_before_the_codec_keep_their_values_and_gain_a_key(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    old = {"person_key_secret": "s" * 32, "tokens": {"operator": "t-1"}}
    path.write_text(json.dumps(old))
    path.chmod(0o644)
    upgraded = StackSecrets.load_or_create(tmp_path)
    assert upgraded.person_key_secret == old["person_key_secret"]
    assert upgraded.tokens["operator"] == "t-1"  # kept; newer roles get tokens of their own
    assert upgraded.payload_key_id in upgraded.payload_keys
    assert json.loads(path.read_text())["payload_keys"] == upgraded.payload_keys
    assert path.stat().st_mode & 0o777 == 0o600
