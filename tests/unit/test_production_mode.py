"""Production mode refuses development secrets, demo policies and unbound tokens, each with
one line saying what to set; development admits them."""

from __future__ import annotations

import pytest

from policy.assessment import admit_policy_version
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from skillflow.settings import Role, SettingsError, load_settings
from store.sealed import generate_key
from store.tokens import check_binding

PUBLIC_BASE_URL = "https://skillflow.example.gov.cn"
STRONG_SECRET = "a-production-secret-of-enough-length-0123"
PAYLOAD_KEYS = {"payload_keys": f'{{"2026-11": "{generate_key()}"}}', "payload_key_id": "2026-11"}
# Every secret and address production needs, so a test names only what it adds.
READY = {"person_key_secret": STRONG_SECRET, "public_base_url": PUBLIC_BASE_URL, **PAYLOAD_KEYS}


def _production(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("SKILLFLOW_ENVIRONMENT", "production")
    for name, value in env.items():
        monkeypatch.setenv(f"SKILLFLOW_{name.upper()}", value)


def test_production_refuses_the_development_person_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SKILLFLOW_PERSON_KEY_SECRET: the development key is refused" in str(error.value)


def test_production_refuses_the_development_payload_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, person_key_secret=STRONG_SECRET, public_base_url=PUBLIC_BASE_URL)
    with pytest.raises(SettingsError) as error:
        load_settings()
    [line] = str(error.value).splitlines()[1:]
    assert line.strip().startswith("SKILLFLOW_PAYLOAD_KEYS: the development payload key")


def test_production_needs_the_public_address(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, person_key_secret=STRONG_SECRET, **PAYLOAD_KEYS)
    with pytest.raises(SettingsError) as error:
        load_settings()
    [line] = str(error.value).splitlines()[1:]
    assert line.strip().startswith("SKILLFLOW_PUBLIC_BASE_URL:")
    monkeypatch.setenv("SKILLFLOW_PUBLIC_BASE_URL", "skillflow.example.gov.cn/path")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SKILLFLOW_PUBLIC_BASE_URL" in str(error.value)


def test_production_refuses_demo_policies_and_unbound_body_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(
        monkeypatch,
        **READY,
        demo_policies="true",
        api_tokens='{"t1": "centre:wang.li", "t2": "regulator:zhao", "t3": "judge:liu@C1"}',
    )
    with pytest.raises(SettingsError) as error:
        load_settings()
    lines = str(error.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [
        "SKILLFLOW_DEMO_POLICIES",
        "SKILLFLOW_API_TOKENS",
    ]
    # Only the unbound centre is named; the regulator acts for every body by nature.
    assert "wang.li" in lines[1] and "zhao" not in lines[1] and "liu" not in lines[1]
    assert "t1" not in str(error.value)


def test_production_starts_with_real_secrets_and_bound_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(
        monkeypatch,
        **READY,
        api_tokens='{"t1": "centre:wang.li@S-LN-1"}',
    )
    settings = load_settings()
    assert settings.environment == "production" and not settings.demo_policies


def test_development_admits_what_production_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLFLOW_API_TOKENS", '{"t1": "centre"}')
    monkeypatch.setenv("SKILLFLOW_DEMO_POLICIES", "true")
    assert load_settings().demo_policies


def test_a_demo_policy_is_admitted_only_where_demo_policies_are_on() -> None:
    assert admit_policy_version("demo-fast", demo_allowed=True).demo
    assert not admit_policy_version("2024-default", demo_allowed=False).demo
    with pytest.raises(RuleViolation) as refused:
        admit_policy_version("demo-fast", demo_allowed=False)
    assert (refused.value.field, refused.value.rule) == (
        "policy_version",
        "policy.demo_not_allowed",
    )


@pytest.mark.parametrize("role", [Role.CENTRE, Role.ENTERPRISE, Role.ORGANISER, Role.JUDGE])
def test_a_stored_token_of_a_body_role_names_its_bodies(role: Role) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_binding(role, [])
    assert refused.value.rule == Rule.TOKEN_UNBOUND
    check_binding(role, ["S-LN-1"])


@pytest.mark.parametrize("role", [Role.REGULATOR, Role.RECORDS_OFFICER, Role.OPERATOR])
def test_a_province_wide_role_names_no_bodies(role: Role) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_binding(role, ["S-LN-1"])
    assert refused.value.rule == Rule.TOKEN_BODIES_NOT_APPLICABLE
    check_binding(role, [])


def test_an_environment_token_of_a_province_wide_role_names_no_bodies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SKILLFLOW_API_TOKENS", '{"t1": "regulator:zhao@S-LN-1"}')
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SKILLFLOW_API_TOKENS" in str(error.value) and "name no bodies" in str(error.value)
