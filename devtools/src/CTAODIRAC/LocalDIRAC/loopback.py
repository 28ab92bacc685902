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

__all__ = ["quickack_commands", "ensure_quickack"]


def quickack_commands(routes: str) -> list[list[str]]:
    """The ``ip`` commands that add ``quickack 1`` to each ``local`` route (this host's own addresses) of the
    ``ip -4 route show table local`` output ``routes`` that lacks it."""
    commands = []
    for line in routes.splitlines():
        words = line.split()
        if not words or words[0] != "local" or "quickack" in words:
            continue
        commands.append(["ip", "-4", "route", "change", "table", "local", *words, "quickack", "1"])
    return commands


def ensure_quickack() -> str:
    """Set ``quickack`` on this host's local routes where missing; what was done, for ``up``'s output."""
    ip = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.path.exists(p)), None)
    if ip is None:
        return "not set: no `ip` command (iproute2); each DISET call waits ~40 ms more"
    shown = subprocess.run([ip, "-4", "route", "show", "table", "local"], capture_output=True, text=True)
    if shown.returncode != 0:
        return f"not set: `ip -4 route show table local` failed ({shown.stderr.strip()})"
    commands = quickack_commands(shown.stdout)
    if not commands:
        return "on"
    failed = []
    for command in commands:
        run = subprocess.run([ip, *command[1:]], capture_output=True, text=True)
        if run.returncode != 0:
            failed.append(run.stderr.strip() or f"exit code {run.returncode}")
    if failed:
        return (f"not set on {len(failed)} of {len(commands)} local routes ({failed[0]}; needs root): each DISET "
                "call waits ~40 ms more")
    return f"set on {len(commands)} local routes"
