"""A campaign run ended by SIGTERM stops what it started (devtools: CTAODIRAC.LocalDIRAC.campaign).

``dirac-ctao-local campaign`` execs the campaign, so a ``kill`` or ``timeout`` reaches it; its SIGTERM handler turns
the signal into ``SystemExit``, so its ``finally`` blocks and ``atexit`` handlers (which stop the agents and pilots
it started) run. Checked on a real process: the handler installed as ``main`` installs it, an ``atexit`` handler
standing for the agents' stop, then SIGTERM.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import atexit, signal, sys, time
from pathlib import Path
from CTAODIRAC.LocalDIRAC.campaign import _exit_on_sigterm
signal.signal(signal.SIGTERM, _exit_on_sigterm)
marker = Path(sys.argv[1])
atexit.register(lambda: marker.write_text("agents and pilots stopped"))
try:
    print("ready", flush=True)
    time.sleep(60)
finally:
    marker.with_suffix(".finally").write_text("finally ran")
"""


def test_sigterm_runs_the_finally_blocks_and_atexit_handlers_and_exits_143(tmp_path: Path) -> None:
    marker = tmp_path / "stopped.txt"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(marker)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 30  # not the 60-s sleep running out
    assert marker.read_text() == "agents and pilots stopped"
    assert marker.with_suffix(".finally").read_text() == "finally ran"
