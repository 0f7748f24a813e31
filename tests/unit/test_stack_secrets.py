"""The local stack's secrets file and data folder: private, stable across restarts."""

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


def test_up_makes_its_own_folder_private_and_leaves_a_shared_one_alone(tmp_path: Path) -> None:
    from skillflow.stack.local import LocalStack, StackPorts

    fresh, shared = tmp_path / "fresh", tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    (shared / "notes.txt").write_text("someone else's")
    for folder in (fresh, shared):
        stack = LocalStack(folder, StackPorts())
        stack._claim_data_dir()
        stack.stop()
    assert fresh.stat().st_mode & 0o777 == 0o700
    assert shared.stat().st_mode & 0o777 == 0o755
    assert (shared / "stack.lock").stat().st_mode & 0o777 == 0o600
