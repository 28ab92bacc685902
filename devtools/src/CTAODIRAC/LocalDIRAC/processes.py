"""Start, find and stop the processes of a local instance by pid file.

A pid file holds the pid and the process's start time (from ``/proc``), so a pid reused by another
process after a reboot or a crash is never taken for ours and never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .instance import Instance


@dataclass(frozen=True)
class Process:
    inst: Instance
    key: str

    @property
    def pidfile(self) -> Path:
        return self.inst.pidfile(self.key)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    return stat.rsplit(")", 1)[1].split()[19]


def read_pid(proc: Process) -> int | None:
    """The pid of the running process, or None (no pid file, dead process, or pid reused by another)."""
    try:
        record = json.loads(proc.pidfile.read_text())
    except (OSError, ValueError):
        return None
    pid = int(record["pid"])
    if _start_time(pid) != record.get("start"):
        return None
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("State:") and "Z" in line.split()[1]:
                    return None  # a zombie is dead
    except OSError:
        return None
    return pid


def is_running(proc: Process) -> bool:
    return read_pid(proc) is not None


def start_process(inst: Instance, key: str, cmd: list[str], env: dict[str, str] | None) -> int:
    """Start ``cmd`` in its own session, its output appended to ``logs/<key>.log``; record its pid."""
    inst.logs.mkdir(parents=True, exist_ok=True)
    inst.run.mkdir(parents=True, exist_ok=True)
    with open(inst.log(key), "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(cmd)}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=inst.root,
            start_new_session=True,
        )  # fmt: skip
    tmp = inst.pidfile(key).with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": popen.pid, "start": _start_time(popen.pid), "cmd": cmd}))
    tmp.replace(inst.pidfile(key))
    return popen.pid


def stop(proc: Process, timeout: float = 20.0) -> bool:
    """Stop the process (TERM, then KILL after ``timeout``) and wait until it is gone; True if it ran."""
    pid = read_pid(proc)
    if pid is None:
        proc.pidfile.unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while read_pid(proc) is not None:
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
        time.sleep(0.1)
    proc.pidfile.unlink(missing_ok=True)
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(proc: Process, port: int, timeout: float = 90.0) -> None:
    """Wait until the process listens on ``port``; fail early (naming its log) if it dies."""
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if not is_running(proc):
            raise RuntimeError(f"{proc.key} exited while starting: see {proc.inst.log(proc.key)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.key} is not listening on port {port} after {timeout:.0f} s: see "
                               f"{proc.inst.log(proc.key)}")
        time.sleep(0.2)
