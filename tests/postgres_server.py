"""A throw-away PostgreSQL server for the test session.

``initdb`` into a private temporary directory, start ``postgres`` on a free
127.0.0.1 port (unix socket inside the same directory), hand out fresh
databases, and stop and delete everything afterwards. PostgreSQL refuses to
run as root, so under root the server runs as the ``postgres`` system user (or
``nobody``) through ``subprocess``'s ``user=``/``group=`` switches.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg
import sqlalchemy as sa

SUPERUSER = "postgres"
START_TIMEOUT_S = 60
START_ATTEMPTS = 3
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server did not start."""


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Looked up via ``pg_config --bindir``, then /usr/lib/postgresql/*/bin
    (newest version first), then PATH.
    """
    for candidate in _bindir_candidates():
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via `pg_config --bindir`, "
        "/usr/lib/postgresql/*/bin or PATH. Install them, e.g. `apt-get install -y postgresql` "
        "(.ci/run does this)."
    )


def _bindir_candidates() -> Iterable[Path]:
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            yield Path(result.stdout.strip())
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    for bindir in sorted(versioned, key=lambda p: int(Path(p).parent.name), reverse=True):
        yield Path(bindir)
    initdb = shutil.which("initdb")
    if initdb:
        yield Path(initdb).resolve().parent


@dataclass(frozen=True)
class RunAs:
    """The OS account the server runs under; ``None`` ids mean "the current user"."""

    uid: int | None = None
    gid: int | None = None

    @classmethod
    def unprivileged(cls) -> RunAs:
        if os.geteuid() != 0:
            return cls()
        for name in ("postgres", "nobody"):
            try:
                account = pwd.getpwnam(name)
            except KeyError:
                continue
            return cls(account.pw_uid, account.pw_gid)
        raise PostgresUnavailable("running as root, but neither a 'postgres' nor a 'nobody' user exists")

    def run(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        switches = {} if self.uid is None else {"user": self.uid, "group": self.gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(cwd)}
        return subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, **switches
        )

    def own(self, path: Path) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)


class PostgresServer:
    """A running server; ``host``/``port``/``user`` connect over TCP with trust auth."""

    host = "127.0.0.1"
    user = SUPERUSER

    def __init__(self, bindir: Path, root: Path, run_as: RunAs):
        self.bindir = bindir
        self.root = root
        self.data_dir = root / "data"
        self.socket_dir = root / "socket"
        self.log_file = root / "postgres.log"
        self.port = 0
        self._run_as = run_as
        self._databases = 0

    @classmethod
    def start_new(cls) -> PostgresServer:
        """initdb + start; raises :class:`PostgresUnavailable` with the server log on failure."""
        bindir = find_bindir()
        run_as = RunAs.unprivileged()
        root = Path(tempfile.mkdtemp(prefix="catalog-synth-pg-"))
        run_as.own(root)
        server = cls(bindir, root, run_as)
        try:
            server._initdb()
            server._start()
        except BaseException:
            server.stop()
            raise
        return server

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        self._run_as.own(self.socket_dir)
        self._tool(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def _start(self) -> None:
        """Start on a free port; retry with another port if one was taken meanwhile."""
        for _ in range(START_ATTEMPTS):
            self.port = _free_port()
            options = (
                f"-h {self.host} -p {self.port} -k {self.socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            result = self._run_as.run(
                [str(self.bindir / "pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                 "-o", options, "-w", "-t", str(START_TIMEOUT_S)],
                cwd=self.root,
            )  # fmt: skip
            if result.returncode == 0:
                return
        raise PostgresUnavailable(f"postgres did not start:\n{result.stdout}{result.stderr}\n{self._log_tail()}")

    def stop(self) -> None:
        """Stop the server (if running) and delete its directory."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run_as.run(
                [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate", "-w"],
                cwd=self.root,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; returns its ``postgresql+psycopg://`` URL."""
        self._databases += 1
        name = name or f"test_{self._databases}"
        if not _DATABASE_NAME.match(name):
            raise ValueError(f"database name {name!r} must match {_DATABASE_NAME.pattern}")
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"

    def _tool(self, name: str, *args: str) -> None:
        result = self._run_as.run([str(self.bindir / name), *args], cwd=self.root)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{name} failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def _log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return "(no server log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def load_frames(
    url: str,
    frames: Mapping[str, pd.DataFrame],
    ddl: str | Iterable[str] = (),
    schema: str | None = None,
) -> None:
    """Run ``ddl`` (statements creating the tables, with real types and keys), then
    append each frame to the table of the same name. Without DDL, pandas creates
    the tables from the frames' dtypes (no keys).
    """
    statements = [ddl] if isinstance(ddl, str) else list(ddl)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
            for name, frame in frames.items():
                frame.to_sql(name, connection, schema=schema, if_exists="append", index=False)
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((PostgresServer.host, 0))
        return probe.getsockname()[1]
