"""Immediate TCP acknowledgements on this host's own addresses (``quickack``), for the local DIRAC's DISET calls.

DIRAC's DISET transport does not set ``TCP_NODELAY``. A call is a short exchange of small TLS records (the end of
the handshake, the proposal, its answer, the arguments), and a small record written while the peer has not yet
acknowledged the previous one waits for that acknowledgement, which Linux delays by up to 40 ms (Nagle's
algorithm meeting delayed acknowledgements). Measured here: a DISET ``ping`` took ~60 ms, 40 of them in that
wait, and ~17 ms with immediate acknowledgements. Every process of the local DIRAC talks to the others over the
host's own addresses (their routes are in the kernel's ``local`` table, all through ``lo``): setting the route
attribute ``quickack`` on them makes the kernel acknowledge at once, for these connections only. IPv4 only: the
instance's host name resolves to an IPv4 address (an IPv6 ``local`` route cannot be changed in place).

``up`` sets it unless ``CTAODIRAC_LOCAL_QUICKACK=0`` (see docs/local-dirac.md). It needs root (``ip route change``);
without it ``up`` says so and goes on.
The setting lasts until the routes are remade (a reboot, an address change): ``up`` sets it again when missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["quickack_commands", "ensure_quickack", "set_quickack", "quickack_is_on", "quickack_now"]


def _ip() -> str | None:
    return shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.path.exists(p)), None)


def _local_routes(routes: str) -> list[list[str]]:
    return [words for words in (line.split() for line in routes.splitlines()) if words and words[0] == "local"]


def _quickack(words: list[str]) -> str:
    return words[words.index("quickack") + 1] if "quickack" in words[:-1] else "0"


def quickack_commands(routes: str, value: int = 1) -> list[list[str]]:
    """The ``ip`` commands that give ``quickack <value>`` to each ``local`` route (this host's own addresses) of the
    ``ip -4 route show table local`` output ``routes`` that has another value (none is 0)."""
    commands = []
    for words in _local_routes(routes):
        if _quickack(words) == str(value):
            continue
        if "quickack" in words[:-1]:
            at = words.index("quickack")
            words = words[:at] + words[at + 2:]
        commands.append(["ip", "-4", "route", "change", "table", "local", *words, "quickack", str(value)])
    return commands


def quickack_is_on(routes: str) -> bool:
    """Whether every ``local`` route of ``routes`` (``ip -4 route show table local``) has ``quickack 1``."""
    local = _local_routes(routes)
    return bool(local) and all(_quickack(words) == "1" for words in local)


def _show(ip: str) -> subprocess.CompletedProcess:
    return subprocess.run([ip, "-4", "route", "show", "table", "local"], capture_output=True, text=True)


def set_quickack(value: int) -> str:
    """Give ``quickack <value>`` to this host's local routes where they have another; what was done."""
    ip = _ip()
    if ip is None:
        return "not set: no `ip` command (iproute2)"
    shown = _show(ip)
    if shown.returncode != 0:
        return f"not set: `ip -4 route show table local` failed ({shown.stderr.strip()})"
    commands = quickack_commands(shown.stdout, value)
    if not commands:
        return "on" if value else "off"
    failed = []
    for command in commands:
        run = subprocess.run([ip, *command[1:]], capture_output=True, text=True)
        if run.returncode != 0:
            failed.append(run.stderr.strip() or f"exit code {run.returncode}")
    if failed:
        return f"not set on {len(failed)} of {len(commands)} local routes ({failed[0]}; needs root)"
    return f"set on {len(commands)} local routes"


def ensure_quickack() -> str:
    """Set ``quickack`` on this host's local routes where missing; what was done, for ``up``'s output."""
    done = set_quickack(1)
    return done + ": each DISET call waits ~40 ms more" if done.startswith("not set") else done


def quickack_now() -> bool | None:
    """Whether every local route has ``quickack 1`` now (None: no ``ip`` command or it failed)."""
    ip = _ip()
    shown = _show(ip) if ip else None
    return quickack_is_on(shown.stdout) if shown is not None and shown.returncode == 0 else None
