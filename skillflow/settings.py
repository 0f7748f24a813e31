"""Settings for every role, read from ``SKILLFLOW_*`` environment variables or a settings file.

The same code runs against the embedded local stack and a production Temporal cluster,
Apache Kafka and PostgreSQL: only these values change.
"""

from __future__ import annotations

import base64
import binascii
import os
from enum import StrEnum
from pathlib import Path
from typing import Final, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from policy.service_levels import service_levels, versions
from store.sealed import KEY_BYTES, KeyRing

# Known to everyone who reads this file: fine for tests and a laptop, refused in production.
# `skillflow up` replaces it with a key it generates and keeps in the data folder.
DEVELOPMENT_PAYLOAD_KEY_ID = "development"
DEVELOPMENT_PAYLOAD_KEY = base64.b64encode(b"skillflow-development-payload-ky").decode()


class Role(StrEnum):
    """Who is calling the API. A bearer token maps to exactly one role."""

    CENTRE = "centre"
    ENTERPRISE = "enterprise"
    REGULATOR = "regulator"
    RECORDS_OFFICER = "records_officer"
    OPERATOR = "operator"
    ORGANISER = "organiser"
    JUDGE = "judge"


# Roles that act for particular bodies (evaluation bodies, organising bodies, competitions)
# rather than for the whole province: their tokens name those bodies.
BOUND_ROLES: Final = frozenset({Role.CENTRE, Role.ENTERPRISE, Role.ORGANISER, Role.JUDGE})
DEVELOPMENT_PERSON_KEY_SECRET: Final = "local-development-person-key-secret"


def binding_problem(
    role: Role, bodies: tuple[str, ...] | list[str], *, must_bind: bool
) -> str | None:
    """What is wrong with a token's bodies for its role, or None. Centres, enterprises,
    organisers and judges act for named bodies (``must_bind``: always, for stored tokens;
    in production, for environment tokens); the other roles act for the whole province,
    so a body named for them would promise a limit that is not there."""
    if role in BOUND_ROLES and not bodies and must_bind:
        return f"a {role.value} token must name the bodies it acts for"
    if role not in BOUND_ROLES and bodies:
        return f"a {role.value} acts for every body: name no bodies"
    return None


class TokenHolder(BaseModel):
    """Who holds a bearer token: a role, the name audit trails record (an examiner's or
    officer's staff id, say; the role when no name is given), and the evaluation bodies
    it acts for (any body when none are given)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=64)
    bodies: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _bodies_fit_the_role(self) -> TokenHolder:
        problem = binding_problem(self.role, self.bodies, must_bind=False)
        if problem:
            raise ValueError(problem)
        return self

    @classmethod
    def parse(cls, value: object) -> object:
        """``"centre"``, ``"centre:wang.li"`` or ``"centre:wang.li@S-LN-1,S-LN-2"``;
        anything else is left to validation."""
        if isinstance(value, str):
            holder, _, bodies = value.partition("@")
            role, _, name = holder.partition(":")
            return {
                "role": role,
                "name": name or role,
                "bodies": tuple(b for b in bodies.split(",") if b),
            }
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKILLFLOW_", extra="forbid", frozen=True)

    environment: Literal["development", "production"] = Field(
        "development",
        description="production refuses development secrets, demo policies and unbound tokens",
    )
    demo_policies: bool = Field(
        False,
        description="admit demo policy versions (seconds-long public notice); "
        "`skillflow up` and the tests turn it on, production refuses it",
    )

    temporal_address: str = Field(
        "127.0.0.1:7233", description="host:port of the Temporal frontend"
    )
    temporal_namespace: str = "default"
    task_queue: str = "skillflow"

    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", description="comma-separated host:port")
    kafka_idempotent_producer: bool = Field(
        True,
        description="On for Apache Kafka; off for the embedded broker, which rejects InitProducerId",
    )
    kafka_session_timeout_ms: int = Field(10_000, ge=1_000, le=300_000)
    kafka_request_timeout_ms: int = Field(
        15_000,
        ge=1_000,
        le=300_000,
        description="how long the relay waits for the broker to acknowledge",
    )
    kafka_topic_partitions: int = Field(4, ge=1, le=256)

    postgres_dsn: str = Field(
        "postgresql://postgres@127.0.0.1:15432/skillflow",
        description="PostgreSQL connection string (postgresql://user:password@host:port/db)",
    )
    person_key_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_PERSON_KEY_SECRET),
        description="HMAC key that turns an ID number into the person key carried by events",
    )
    public_base_url: str | None = Field(
        None,
        description="the API's public address: credential ids, status lists and the did:web "
        "issuer derive from it (default http://API_HOST:API_PORT)",
    )
    payload_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {DEVELOPMENT_PAYLOAD_KEY_ID: SecretStr(DEVELOPMENT_PAYLOAD_KEY)},
        description="AES-256 keys (base64) that encrypt Temporal payloads and name columns, as "
        'a JSON object {"key id": "key"}; keep old keys here until nothing sealed with them is left',
    )
    payload_key_id: str = Field(
        DEVELOPMENT_PAYLOAD_KEY_ID, description="the key in payload_keys that encrypts new values"
    )
    codec_cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8233", "http://localhost:8233"],
        description="origins of the Temporal Web UIs that may call the API's /codec routes, "
        "as a JSON list",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_tokens: dict[str, TokenHolder] = Field(
        default_factory=dict,
        description='bearer token -> "role", "role:name" or "role:name@BODY1,BODY2", as a '
        "JSON object",
    )

    public_calls_per_minute: int = Field(
        60, ge=1, le=100_000, description="anonymous calls (verification) refilled per address"
    )
    public_calls_burst: int = Field(
        30, ge=1, le=100_000, description="anonymous calls an address may make at once"
    )

    worker_health_port: int = Field(8001, ge=0, le=65535, description="0 picks a free port")
    consumers_health_port: int = Field(8002, ge=0, le=65535, description="0 picks a free port")

    temporal_ui_url: str = Field(
        "", description="the Temporal Web UI, for the operator console's links (none if empty)"
    )
    service_levels: str = Field(
        "2026-standard",
        description="version of policy/data/service_levels: when waiting work counts as late",
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="json: one JSON object per line (role, workflow and event ids)"
    )
    worker_sdk_metrics_port: int = Field(
        8003,
        ge=0,
        le=65535,
        description="where the worker's Temporal SDK serves its metrics; its /metrics adds them "
        "(0 picks a free port)",
    )

    consumer_max_attempts: int = Field(
        3, ge=1, le=20, description="tries before a message goes to its .dlq topic"
    )
    relay_batch_size: int = Field(500, ge=1, le=10_000)

    worker_max_cached_workflows: int = Field(
        1_000,
        ge=0,
        le=100_000,
        description="workflows a worker keeps in its sticky cache (memory grows with it; "
        "an evicted workflow is rebuilt from history on its next task)",
    )

    import_max_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="largest CSV file an import job takes (bigger files are refused at the "
        "door with csv.too_large, before any row is stored)",
    )
    import_max_rows: int = Field(
        100_000,
        ge=1,
        le=10_000_000,
        description="most data rows an import job takes (csv.too_many_rows beyond)",
    )
    import_batch_rows: int = Field(
        200,
        ge=1,
        le=10_000,
        description="rows one import activity decides; a retried batch skips decided rows",
    )

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _token_holders(cls, value: object) -> object:
        if isinstance(value, dict):
            return {token: TokenHolder.parse(holder) for token, holder in value.items()}
        return value

    @field_validator("service_levels")
    @classmethod
    def _known_service_levels(cls, value: str) -> str:
        if value not in versions():
            raise ValueError(f"unknown service levels; known: {', '.join(versions())}")
        return value

    @field_validator("postgres_dsn")
    @classmethod
    def _postgres_scheme(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (a libpq connection URI)")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ValueError("must be http(s)://host[:port], e.g. https://skillflow.example.cn")
        return value

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("must be host:port, e.g. 127.0.0.1:7233")
        return value

    @field_validator("person_key_secret")
    @classmethod
    def _secret_strength(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters: it protects every person key")
        return value

    @field_validator("payload_keys")
    @classmethod
    def _aes_256_keys(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if not value:
            raise ValueError("needs at least one key")
        for key_id, key in value.items():
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != KEY_BYTES:
                # The key id only: the key itself never goes into an error message.
                raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes in base64")
        return value

    @model_validator(mode="after")
    def _current_key_known(self) -> Self:
        if self.payload_key_id not in self.payload_keys:
            raise ValueError(
                f"SKILLFLOW_PAYLOAD_KEY_ID {self.payload_key_id!r} is not a key id of "
                "SKILLFLOW_PAYLOAD_KEYS"
            )
        return self

    @property
    def person_key_secret_bytes(self) -> bytes:
        return self.person_key_secret.get_secret_value().encode()

    @property
    def credential_base_url(self) -> str:
        return (self.public_base_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def key_ring(self) -> KeyRing:
        return KeyRing.from_base64(
            {key_id: key.get_secret_value() for key_id, key in self.payload_keys.items()},
            self.payload_key_id,
        )

    @property
    def uses_development_payload_key(self) -> bool:
        """True when new payloads would be sealed with the published development key."""
        current = self.payload_keys[self.payload_key_id].get_secret_value()
        return base64.b64decode(current) == base64.b64decode(DEVELOPMENT_PAYLOAD_KEY)

    def production_problems(self) -> list[str]:
        """What a production role refuses to start with, one line each naming what to set."""
        if self.environment != "production":
            return []
        problems = []
        if self.person_key_secret.get_secret_value() == DEVELOPMENT_PERSON_KEY_SECRET:
            problems.append(
                "SKILLFLOW_PERSON_KEY_SECRET: the development key is refused in production; "
                "set a random secret of 32+ characters (and keep it: it names every person key)"
            )
        if self.uses_development_payload_key:
            problems.append(
                "SKILLFLOW_PAYLOAD_KEYS: the development payload key is refused in production; "
                "set a key of your own (store.sealed.generate_key) and SKILLFLOW_PAYLOAD_KEY_ID"
            )
        if self.public_base_url is None:
            problems.append(
                "SKILLFLOW_PUBLIC_BASE_URL: set the API's public https address (credentials "
                "and the did:web issuer name it)"
            )
        if self.demo_policies:
            problems.append(
                "SKILLFLOW_DEMO_POLICIES: demo policies are refused in production; set it to false"
            )
        if (
            self.service_levels in versions()
            and service_levels(self.service_levels, demo_allowed=True).demo
        ):
            problems.append(
                f"SKILLFLOW_SERVICE_LEVELS: {self.service_levels} is for demos; set a real "
                f"version ({', '.join(v for v in versions() if not v.startswith('demo'))})"
            )
        unbound = sorted(
            {h.name for h in self.api_tokens.values() if h.role in BOUND_ROLES and not h.bodies}
        )
        if unbound:
            problems.append(
                "SKILLFLOW_API_TOKENS: tokens of "
                + ", ".join(unbound)
                + ' name no body; in production write them as "role:name@BODY1,BODY2"'
            )
        return problems


class SettingsError(Exception):
    """Bad settings, one line per bad value, naming the environment variable."""


def load_settings(settings_file: Path | None = None) -> Settings:
    """Environment variables win over the settings file (a dotenv-style ``KEY=value`` file)."""
    settings_file = settings_file or _settings_file_from_env()
    try:
        if settings_file is not None:
            if not settings_file.is_file():
                raise SettingsError(f"settings file {settings_file} does not exist")
            settings = Settings(_env_file=settings_file)
        else:
            settings = Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            # Only the variable's name: a deeper location could be a token (a dict key).
            field = str(error["loc"][0]) if error["loc"] else "settings"
            lines.append(f"SKILLFLOW_{field.upper()}: {error['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
    problems = settings.production_problems()
    if problems:
        raise SettingsError("refused in production:\n  " + "\n  ".join(problems))
    return settings


def _settings_file_from_env() -> Path | None:
    value = os.environ.get("SKILLFLOW_SETTINGS_FILE")
    return Path(value) if value else None
