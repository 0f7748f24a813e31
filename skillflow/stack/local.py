"""``skillflow up``: the whole service on one machine, in the foreground.

Start order: PostgreSQL, broker, Temporal; then the one-time set-up (database, migrations,
topics, search attributes); then the roles (``--workers N`` worker processes, ``--consumers N``
consumer processes, the API), each its own process configured only through ``SKILLFLOW_*``
variables, exactly as in production. Stop order is the reverse, on SIGINT or SIGTERM, each
process given a few seconds before it is killed.

While it runs the stack supervises, as an orchestrator would: a process that exits is
started again (a restarted broker gets its topics back, and the events its memory lost are
published again from the outbox). ``stack.json`` names every process and its pid; a file
``holds/NAME`` in the data folder keeps the stack from restarting that process until it is
removed, which is how ``skillflow drill`` keeps a server down for a while.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import secrets
import signal
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from consumers.app import ConsumerDependencies, build_consumers
from skillflow import kafka, temporal
from skillflow.settings import Role, Settings
from skillflow.stack.process import ManagedProcess, StackError, free_port, port_is_free
from skillflow.stack.servers import KafkaBroker, PostgresServer, TemporalServer
from store.database import Connection, apply_migrations, create_pool, ensure_database
from store.outbox import requeue_unapplied
from store.sealed import generate_key
from store.tokens import create_token, find_holder

STACK_FILE = "stack.json"
HOLDS_DIR = "holds"
RESTART_DELAY_S = 1.0
CRASH_LOOP_WINDOW_S = 10.0
CRASH_LOOP_EXITS = 3

# The bodies the local stack's own tokens act for: the demo's assessment centre (S) and
# enterprise (Y), and its competitions' organising body. Judges are bound to competitions,
# which do not exist yet at start: the stack's judge token names the demo organiser's.
DEMO_BODIES: dict[Role, tuple[str, ...]] = {
    Role.CENTRE: ("S-LN-DEMO",),
    Role.ENTERPRISE: ("Y-LN-DEMO",),
    Role.ORGANISER: ("ORG-LN-DEMO",),
    Role.JUDGE: ("ORG-LN-DEMO",),
}


@dataclass(frozen=True)
class StackPorts:
    api: int = 8000
    temporal: int = 7233
    temporal_ui: int = 8233
    temporal_http: int = 7243
    kafka: int = 19092
    postgres: int = 15432
    worker_health: int = 8001
    consumers_health: int = 8002
    worker_sdk_metrics: int = 8003


@dataclass(frozen=True)
class StackSecrets:
    """Kept in the data folder so person keys and tokens stay the same across restarts."""

    person_key_secret: str
    tokens: dict[str, str]  # role -> token
    # key id -> AES-256 key (base64) for Temporal payloads and the name columns
    payload_keys: dict[str, str]
    payload_key_id: str

    @classmethod
    def load_or_create(cls, data_dir: Path) -> StackSecrets:
        path = data_dir / "secrets.json"
        if path.exists():
            raw = json.loads(path.read_text())
            made = cls(
                raw["person_key_secret"],
                raw["tokens"],
                *_payload_key(raw.get("payload_keys"), raw.get("payload_key_id")),
            )
            if set(made.tokens) == {role.value for role in Role} and "payload_keys" in raw:
                return made
            # A data folder from before a role or the payload codec existed: give the new
            # roles their tokens and the stack its payload key, keeping everything else.
            made = cls(
                made.person_key_secret,
                {**_new_tokens(), **made.tokens},
                made.payload_keys,
                made.payload_key_id,
            )
        else:
            made = cls(secrets.token_urlsafe(32), _new_tokens(), *_payload_key(None, None))
        write_private(path, json.dumps(asdict(made), indent=2))
        return made


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from the first byte (tokens, secrets). It is
    written aside and renamed into place, so a reader never sees it half written."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.replace(partial, path)


def _new_tokens() -> dict[str, str]:
    return {role.value: secrets.token_urlsafe(32) for role in Role}


def _payload_key(keys: dict[str, str] | None, key_id: str | None) -> tuple[dict[str, str], str]:
    """The stack's payload keys, or a new one, never the published development key."""
    if keys and key_id:
        return keys, key_id
    key_id = time.strftime("local-%Y%m%d%H%M%S", time.gmtime())
    return {key_id: generate_key()}, key_id


def _is_stack_folder(path: Path) -> bool:
    """An empty folder, or one a stack has used (it keeps its secrets there)."""
    return (path / "secrets.json").exists() or not any(path.iterdir())


def read_stack_file(data_dir: Path) -> dict[str, Any]:
    """The running stack's addresses (``skillflow demo``, ``status`` and the tests use it)."""
    path = data_dir / STACK_FILE
    if not path.exists():
        raise StackError(
            f"no running stack in {data_dir}: start one with `skillflow up --data-dir {data_dir}`"
        )
    data: dict[str, Any] = json.loads(path.read_text())
    return data


class LocalStack:
    def __init__(
        self,
        data_dir: Path,
        ports: StackPorts,
        *,
        ui: bool = True,
        out: IO[str] = sys.stdout,
        workers: int = 1,
        consumers: int = 1,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.ports = ports
        self.ui = ui
        self.out = out
        self.workers = workers
        self.consumers = consumers
        self._lock_file: IO[str] | None = None
        self._servers: list[ManagedProcess] = []
        self._roles: list[ManagedProcess] = []
        # Each role process's health endpoint, by process name (worker-1, consumers-2, api).
        self._health: dict[str, str] = {}
        self._restarts: dict[str, int] = {}
        self._started_at: dict[str, float] = {}
        self._quick_exits: dict[str, int] = {}
        self._server_starts: dict[str, Callable[[], None]] = {}
        self._requeue_pending = False
        self._addresses: dict[str, Any] = {}
        self._stop_requested = False

    # --- start-up checks ---------------------------------------------------------------

    def _claim_data_dir(self) -> None:
        try:
            ours = not self.data_dir.exists() or _is_stack_folder(self.data_dir)
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if ours:
                # Secrets, tokens, logs and the databases live here: the owner's only. A
                # folder that holds other things (a home, /tmp) keeps its mode; the files
                # and folders SkillFlow makes in it are private all the same.
                self.data_dir.chmod(0o700)
            probe = self.data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise StackError(
                f"cannot write to data folder {self.data_dir} ({exc.strerror}): choose another with --data-dir"
            ) from None
        lock = self.data_dir / "stack.lock"
        self._lock_file = os.fdopen(
            os.open(lock, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+"
        )
        lock.chmod(0o600)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "another process"
            raise StackError(
                f"SkillFlow is already running on {self.data_dir} (pid {holder}): stop it with Ctrl-C, "
                "or start another with a different --data-dir and ports"
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def _check_ports(self) -> None:
        wanted = asdict(self.ports)
        if not self.ui:
            wanted.pop("temporal_ui")
        seen: dict[int, str] = {}
        for name, port in wanted.items():
            if port in seen:
                raise StackError(
                    f"ports for {seen[port]} and {name} are both {port}: give each its own"
                )
            seen[port] = name
            if not port_is_free(port):
                option = "--" + name.replace("_", "-") + "-port"
                raise StackError(
                    f"port {port} ({name}) is already in use: free it or pass {option} with another port"
                )

    # --- lifecycle -----------------------------------------------------------------------

    def settings(self, secrets_: StackSecrets) -> Settings:
        return Settings(
            temporal_address=f"127.0.0.1:{self.ports.temporal}",
            kafka_bootstrap_servers=f"127.0.0.1:{self.ports.kafka}",
            kafka_idempotent_producer=False,  # the embedded broker rejects InitProducerId
            kafka_session_timeout_ms=6_000,
            postgres_dsn=f"postgresql://postgres@127.0.0.1:{self.ports.postgres}/skillflow",
            person_key_secret=secrets_.person_key_secret,
            payload_keys=secrets_.payload_keys,
            payload_key_id=secrets_.payload_key_id,
            api_host="127.0.0.1",
            api_port=self.ports.api,
            codec_cors_origins=[
                f"http://127.0.0.1:{self.ports.temporal_ui}",
                f"http://localhost:{self.ports.temporal_ui}",
            ],
            # The stack's tokens live in PostgreSQL (registered by _prepare), not here.
            # The local stack is for demos and trials: its walkthrough policy is admitted.
            demo_policies=True,
            worker_health_port=self.ports.worker_health,
            consumers_health_port=self.ports.consumers_health,
            worker_sdk_metrics_port=self.ports.worker_sdk_metrics,
            temporal_ui_url=f"http://127.0.0.1:{self.ports.temporal_ui}" if self.ui else "",
            # Late work shows within a minute on a walkthrough (seconds instead of days).
            service_levels="demo-fast",
        )

    def run(self) -> int:
        """Start everything, wait for a stop signal, stop everything. Returns the exit code."""
        self._claim_data_dir()
        self._check_ports()
        previous = {
            sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            return self._run()
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _request_stop(self, signum: int, _frame: object) -> None:
        self._stop_requested = True

    def _run(self) -> int:
        started = time.monotonic()
        secrets_ = StackSecrets.load_or_create(self.data_dir)
        settings = self.settings(secrets_)
        self._say(f"SkillFlow: starting the local stack in {self.data_dir}")
        postgres = PostgresServer(self.data_dir, self.ports.postgres)
        broker = KafkaBroker(self.data_dir, self.ports.kafka)
        temporal_server = TemporalServer(
            self.data_dir,
            self.ports.temporal,
            self.ports.temporal_ui if self.ui else None,
            self.ports.temporal_http,
        )
        for server in (postgres, broker, temporal_server):
            self._servers.append(server.process)
            self._server_starts[server.process.name] = server.start
            server.start()
            if self._stop_requested:
                return 130
        asyncio.run(_prepare(settings, secrets_))
        self._start_roles(settings)
        self._wait_ready()
        addresses = self.addresses(settings, secrets_)
        self._addresses = addresses
        self._write_stack_file()
        self._print_addresses(addresses, time.monotonic() - started)
        (self.data_dir / HOLDS_DIR).mkdir(exist_ok=True)
        while not self._stop_requested:
            for process in self._servers + self._roles:
                if not process.running() and not self._stop_requested:
                    if self._crash_looping(process):
                        self._say(f"SkillFlow: {process.exit_message()}")
                        return 1
                    self._restart(process, settings)
            if self._requeue_pending:
                self._requeue_after_broker_restart(settings)
            time.sleep(0.3)
        return 0

    def _requeue_after_broker_restart(self, settings: Settings) -> None:
        """Topics and lost events back on a restarted broker; tried again on the next turn of
        the loop while PostgreSQL or Temporal are away too."""
        try:
            requeued = asyncio.run(_after_broker_restart(settings))
        except Exception as exc:
            self._say(f"SkillFlow: requeue after the broker restart failed ({exc}); retrying")
            time.sleep(RESTART_DELAY_S)
            return
        self._requeue_pending = False
        self._say(f"SkillFlow: kafka is back; {requeued} unapplied event(s) requeued")

    def _crash_looping(self, process: ManagedProcess) -> bool:
        """A process that died within seconds of each of its last starts will not get better
        by restarting: the stack stops and shows why, as it does at start."""
        now = time.monotonic()
        if now - self._started_at.get(process.name, 0.0) > CRASH_LOOP_WINDOW_S:
            self._quick_exits[process.name] = 0
        elif process.process is not None and process.process.returncode not in (-9, -15):
            self._quick_exits[process.name] = self._quick_exits.get(process.name, 0) + 1
        return self._quick_exits.get(process.name, 0) >= CRASH_LOOP_EXITS

    def _start_roles(self, settings: Settings) -> None:
        """``workers`` worker processes, ``consumers`` consumer processes and the API. The
        first of each role keeps the configured health port; the others get free ones."""
        base = {**os.environ, **_settings_env(settings)}
        plan = [("worker", i, self.workers) for i in range(1, self.workers + 1)]
        plan += [("consumers", i, self.consumers) for i in range(1, self.consumers + 1)]
        plan += [("api", 1, 1)]
        for role, index, count in plan:
            name = role if count == 1 else f"{role}-{index}"
            env = dict(base)
            if role == "api":
                port = settings.api_port
            else:
                setting = f"{role}_health_port"
                configured = int(getattr(settings, setting))
                port = configured if index == 1 else free_port()
                env[f"SKILLFLOW_{setting.upper()}"] = str(port)
                if role == "worker" and index > 1:
                    env["SKILLFLOW_WORKER_SDK_METRICS_PORT"] = "0"  # a free port of its own
            self._health[name] = f"http://127.0.0.1:{port}/health/ready"
            process = ManagedProcess(
                name,
                [sys.executable, "-m", "skillflow", role],
                log_path=self.data_dir / "logs" / f"{name}.log",
                env=env,
                stop_signal=signal.SIGTERM,
            )
            self._roles.append(process)
            process.start()

    def _restart(self, process: ManagedProcess, settings: Settings) -> None:
        """Start ``process`` again unless ``holds/NAME`` exists; a restarted broker gets its
        topics back, and what its memory lost is published again from the outbox."""
        if (self.data_dir / HOLDS_DIR / process.name).exists():
            return
        code = process.process.returncode if process.process else None
        self._say(f"SkillFlow: {process.name} exited (code {code}); restarting it")
        time.sleep(RESTART_DELAY_S)
        try:
            if process.name in self._server_starts:
                self._server_starts[process.name]()
                if process.name == "kafka":
                    self._requeue_pending = True
            else:
                process.start()
            self._started_at[process.name] = time.monotonic()
        except (StackError, OSError) as exc:
            self._say(f"SkillFlow: {process.name} did not restart ({exc}); trying again")
            return
        self._restarts[process.name] = self._restarts.get(process.name, 0) + 1
        self._write_stack_file()

    def _write_stack_file(self) -> None:
        """stack.json: the addresses, tokens, and every process with its pid (drills use it)."""
        processes = {
            process.name: {
                "pid": process.pid,
                "kind": "server" if process in self._servers else "role",
                "health": self._health.get(process.name),
                "restarts": self._restarts.get(process.name, 0),
            }
            for process in self._servers + self._roles
        }
        health = {name: url for name, url in self._health.items()}
        document = {**self._addresses, "health": health, "processes": processes}
        write_private(self.data_dir / STACK_FILE, json.dumps(document, indent=2))

    def _wait_ready(self, timeout: float = 90.0) -> None:
        checks = dict(self._health)
        deadline = time.monotonic() + timeout
        pending = dict(checks)
        while pending:
            if self._stop_requested:
                raise StackError("stopped while starting")
            for process in self._roles:
                if not process.running():
                    raise StackError(process.exit_message())
            for name, url in list(pending.items()):
                if _http_ok(url):
                    del pending[name]
            if time.monotonic() > deadline:
                raise StackError(
                    f"{', '.join(pending)} not ready within {timeout:.0f}s; see {self.data_dir / 'logs'}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        """Roles first (they drain and commit), then the servers they use, newest first."""
        for process in reversed(self._roles):
            process.stop(timeout=15)
        for process in reversed(self._servers):
            process.stop(timeout=15)
        self._roles.clear()
        self._servers.clear()
        (self.data_dir / STACK_FILE).unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # --- output --------------------------------------------------------------------------

    def addresses(self, settings: Settings, secrets_: StackSecrets) -> dict[str, Any]:
        api = f"http://127.0.0.1:{self.ports.api}"
        return {
            "api": api,
            "api_docs": f"{api}/docs",
            "operator_page": f"{api}/operator",
            "temporal": settings.temporal_address,
            "temporal_ui": f"http://127.0.0.1:{self.ports.temporal_ui}" if self.ui else None,
            "kafka": settings.kafka_bootstrap_servers,
            "postgres": settings.postgres_dsn,
            "health": {
                "worker": f"http://127.0.0.1:{self.ports.worker_health}/health/ready",
                "consumers": f"http://127.0.0.1:{self.ports.consumers_health}/health/ready",
                "api": f"{api}/health/ready",
            },
            "metrics": {
                "worker": f"http://127.0.0.1:{self.ports.worker_health}/metrics",
                "consumers": f"http://127.0.0.1:{self.ports.consumers_health}/metrics",
                "api": f"{api}/metrics",
            },
            "tokens": secrets_.tokens,
            "bodies": {role.value: list(bodies) for role, bodies in DEMO_BODIES.items()},
            "pid": os.getpid(),
            "data_dir": str(self.data_dir),
        }

    def _print_addresses(self, addresses: dict[str, Any], seconds: float) -> None:
        self._say(f"SkillFlow is up ({seconds:.1f}s). Ctrl-C stops everything.")
        for label, key in [
            ("API", "api"),
            ("OpenAPI docs", "api_docs"),
            ("Operator page", "operator_page"),
            ("Temporal", "temporal"),
            ("Temporal UI", "temporal_ui"),
            ("Kafka", "kafka"),
            ("PostgreSQL", "postgres"),
        ]:
            if addresses[key]:
                self._say(f"  {label:<14} {addresses[key]}")
        self._say(f"  {'Tokens, logs':<14} {self.data_dir / STACK_FILE}, {self.data_dir / 'logs'}")
        self._say("  Try it:        skillflow demo" + _data_dir_option(self.data_dir))

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def _data_dir_option(data_dir: Path) -> str:
    default = Path(".skillflow").resolve()
    return "" if data_dir == default else f" --data-dir {data_dir}"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _settings_env(settings: Settings) -> dict[str, str]:
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        if name == "person_key_secret":
            value = settings.person_key_secret.get_secret_value()
        if name == "payload_keys":
            value = {k: key.get_secret_value() for k, key in settings.payload_keys.items()}
        if value is None:
            continue  # unset: the role's own default applies
        if isinstance(value, dict | list):
            value = json.dumps(value)
        env[f"SKILLFLOW_{name.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env


async def _register_tokens(conn: Connection, secrets_: StackSecrets) -> None:
    """The stack's own tokens, one per role, each bound to the demo's bodies; kept in
    secrets.json so they survive a restart, registered once."""
    for role_name, token in secrets_.tokens.items():
        role = Role(role_name)
        if await find_holder(conn, token) is None:
            await create_token(
                conn,
                role=role,
                name=f"local-{role.value}",
                bodies=DEMO_BODIES.get(role, ()),
                created_by="skillflow up",
                token=token,
            )


async def consumer_subscriptions(settings: Settings) -> dict[str, list[str]]:
    """Each consumer group's topics."""
    client = await temporal.connect(settings)
    return {
        consumer.name: [str(topic) for topic in consumer.topics]
        for consumer in build_consumers(ConsumerDependencies(settings, client))
    }


async def _after_broker_restart(settings: Settings) -> int:
    """The embedded broker came back empty: its topics again, then every event a consumer
    had not applied goes out again (consumers drop what they had)."""
    await kafka.ensure_topics(settings)
    subscriptions = await consumer_subscriptions(settings)
    pool = await create_pool(settings.postgres_dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await requeue_unapplied(conn, subscriptions)
    finally:
        await pool.close()


async def _prepare(settings: Settings, secrets_: StackSecrets) -> None:
    """One-time set-up before the roles start, so they do not race to do it."""
    await ensure_database(settings.postgres_dsn)
    await kafka.ensure_topics(settings)
    client = await temporal.connect(settings)
    await temporal.ensure_search_attributes(client, settings.temporal_namespace)
    subscriptions = await consumer_subscriptions(settings)
    pool = await create_pool(settings.postgres_dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            await _register_tokens(conn, secrets_)
            # The embedded broker starts empty every time: publish again what a consumer had
            # not applied when the stack last stopped, so a restart loses no event.
            await requeue_unapplied(conn, subscriptions)
    finally:
        await pool.close()
