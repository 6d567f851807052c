"""Pid files and graceful stopping of the processes the stack starts."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def read_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is alive, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if is_alive(pid) else None


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); look at its state where /proc exists
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().split(") ", 1)[1][:1] != "Z"
        except (OSError, IndexError):
            return True
    return True


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def stop_process(
    pid: int, *, name: str, sig: signal.Signals = signal.SIGTERM, grace: float = 30.0
) -> bool:
    """Send `sig`, wait up to `grace` seconds, then SIGKILL. True if it had to kill."""
    logger.debug("stopping service=%s pid=%d signal=%s", name, pid, sig.name)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False

    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return False
        time.sleep(0.1)

    logger.warning("service=%s pid=%d ignored %s; killing it", name, pid, sig.name)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    while is_alive(pid):
        time.sleep(0.05)
    return True


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file, or a note that it does not exist."""
    if not path.exists():
        return f"(no log at {path})"
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64 * 1024))
        text = f.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
