"""`skillflow tokens create | list | revoke` against the real PostgreSQL, and what the API
then admits: a token works from its creation and is refused from its revocation on."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from policy.rule_ids import Rule
from skillflow.settings import Role

from .steps import approved_body

pytestmark = pytest.mark.integration


def skillflow(stack, *args: str) -> subprocess.CompletedProcess[str]:
    # A wide console: at rich's default 80 columns, the list cuts long names short once
    # other tests' tokens (longer names) are in the table.
    env = {**os.environ, "SKILLFLOW_POSTGRES_DSN": stack.settings.postgres_dsn, "COLUMNS": "240"}
    return subprocess.run(
        [sys.executable, "-m", "skillflow", "tokens", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_created_token_acts_for_its_body_until_it_is_revoked(
    stack, worker, api, auth
) -> None:
    body = await approved_body(api, auth)
    name = f"li.ming-{uuid.uuid4().hex[:6]}"
    created = skillflow(stack, "create", "--role", "centre", "--name", name, "--body", body)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    # Kept only as a digest.
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM access.tokens WHERE digest::text LIKE $1", f"%{token}%"
        )
        == 0
    )

    bearer = {"Authorization": f"Bearer {token}"}
    assert (await api.get(f"/bodies/{body}", headers=bearer)).status_code == 200
    other = await approved_body(api, auth)
    assert (await api.get(f"/bodies/{other}", headers=bearer)).status_code == 403

    listed = skillflow(stack, "list")
    assert listed.returncode == 0 and name in listed.stdout and token not in listed.stdout

    again = skillflow(stack, "create", "--role", "centre", "--name", name, "--body", body)
    assert again.returncode == 2 and Rule.TOKEN_NAME_IN_USE in again.stderr

    revoked = skillflow(stack, "revoke", name)
    assert revoked.returncode == 0, revoked.stderr
    assert (await api.get(f"/bodies/{body}", headers=bearer)).status_code == 401


async def test_a_centre_token_must_name_its_bodies(stack) -> None:
    refused = skillflow(stack, "create", "--role", Role.CENTRE.value, "--name", "nobody-bound")
    assert refused.returncode == 2
    assert Rule.TOKEN_UNBOUND in refused.stderr
