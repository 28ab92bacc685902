"""Integration tests run against a real local DIRAC (MariaDB, CS and services as local processes).

The session fixture brings the instance up with ``dirac-ctao-local up`` (or reuses the one that is up):
``CTAODIRAC_LOCAL_ROOT`` chooses the instance directory. DIRAC code runs in subprocesses, as the user
the test names, so that each call gets DIRAC's global state fresh and with the right proxy: each forked from
``snippet_server.py``, which has imported DIRAC's modules once and not initialised DIRAC (a snippet then costs
~0.05 s of CPU instead of ~0.8 s of ``python -c``, ~290 snippets per run; ``CTAODIRAC_TEST_SNIPPET_SERVER=0`` runs
them as ``python -c``).

With pytest-xdist (``make test-integration`` runs ``-n 2 --dist loadfile``: a file's tests stay together, the
longest files first), each worker has its own instance: ``gw0`` the usual one, ``gwN`` (N > 0) ``<root>-gwN`` with
ports ``N x 1000`` higher, stopped again when its tests end (its state is kept for the next run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from CTAODIRAC.LocalDIRAC import control, mariadb
from CTAODIRAC.LocalDIRAC.instance import Instance, default_root

pytestmark = pytest.mark.integration

#: Ports of pytest-xdist worker gwN's instance: N x this above the first worker's (whose campaign test's instance
#: is 700 above, the benchmarks' 3000 and 3500).
WORKER_PORT_STEP = 1000


def worker_index() -> int:
    """This pytest-xdist worker's number (0 without xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def _use_this_workers_instance() -> None:
    """Point this process, and every command it starts, at this worker's own instance (set before any
    ``Instance()`` is made; subprocesses inherit it)."""
    index = worker_index()
    if index == 0:
        return
    offset = int(os.environ.get("CTAODIRAC_LOCAL_PORT_OFFSET", "0") or 0) + index * WORKER_PORT_STEP
    os.environ["CTAODIRAC_LOCAL_ROOT"] = f"{default_root()}-gw{index}"
    os.environ["CTAODIRAC_LOCAL_PORT_OFFSET"] = str(offset)


_use_this_workers_instance()

PRELUDE = """
import json, sys
from DIRAC.Core.Base.Script import Script
Script.parseCommandLine(ignoreErrors=True)
"""
MARK = "__CTAODIRAC_RESULT__"


class DiracCallFailed(AssertionError):
    pass


#: The snippets' fork server (snippet_server.py); CTAODIRAC_TEST_SNIPPET_SERVER=0 runs each as ``python -c``.
SNIPPET_SERVER = Path(__file__).with_name("snippet_server.py")


@dataclass
class Dirac:
    """Runs Python snippets with DIRAC initialised, as a user of the local instance: each in a process of its own
    (forked from the snippet server, which has imported DIRAC once but not initialised it; or ``python -c``)."""

    inst: Instance
    _server: Any = field(default=None, repr=False)

    def py(self, code: str, user: str | None = "prodmgr", timeout: float = 300) -> Any:
        """Run ``code`` (which sets ``result``) and return ``result`` (JSON round trip)."""
        script = PRELUDE + textwrap.dedent(code) + f"\nprint({MARK!r} + json.dumps(result, default=str))\n"
        argv = ["-o", "/DIRAC/Security/UseServerCertificate=yes"] if user is None else []
        env = self.inst.environment(user)
        answer = self._forked(script, argv, env, timeout)
        if answer is None:
            proc = subprocess.run([sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True,
                                  timeout=timeout, cwd=self.inst.root)  # fmt: skip
            answer = {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
        for line in reversed(answer["stdout"].splitlines()):
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise DiracCallFailed(f"exit {answer['code']}\nstdout:\n{answer['stdout'][-3000:]}\n"
                              f"stderr:\n{answer['stderr'][-3000:]}")  # fmt: skip

    def _forked(self, script: str, argv: list[str], env: dict[str, str], timeout: float) -> dict[str, Any] | None:
        """The snippet run by the fork server: its exit code, stdout and stderr (None: no server, run it alone)."""
        if os.environ.get("CTAODIRAC_TEST_SNIPPET_SERVER", "1") == "0":
            return None
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen([sys.executable, str(SNIPPET_SERVER)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, text=True, env=self.inst.environment(None),
                                            cwd=self.inst.root)  # fmt: skip
            if not self._server.stdout.readline().startswith('{"ready"'):
                self.close()
                return None
        request = {"script": script, "argv": argv, "env": env, "cwd": str(self.inst.root), "timeout": timeout}
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        line = self._server.stdout.readline()
        if not line:
            raise DiracCallFailed(f"the snippet server ended (exit {self._server.wait()})")
        answer = json.loads(line)
        if answer["timed_out"]:
            raise subprocess.TimeoutExpired(["snippet"], timeout, answer["stdout"], answer["stderr"])
        return answer

    def close(self) -> None:
        if self._server is not None:
            self._server.stdin.close()
            self._server.wait(timeout=30)
            self._server = None

    def sql(self, db: str, query: str) -> list[list[str]]:
        """Rows of a query run directly in the instance's MariaDB (for what no DIRAC RPC exposes)."""
        out = mariadb._client(self.inst, db, sql=query)  # noqa: SLF001 - test helper
        return [line.split("\t") for line in out.splitlines() if line]

    def run(self, args: list[str], user: str | None = "prodmgr", timeout: float = 300) -> subprocess.CompletedProcess:
        return control.run_dirac(self.inst, args, user=user, check=False, timeout=timeout)


@pytest.fixture(scope="session")
def local_dirac() -> Iterator[Instance]:
    inst = Instance()
    control.up(inst)
    yield inst
    if worker_index() > 0:  # a second worker's instance is stopped with its tests (the first one stays up)
        control.down(inst)


@pytest.fixture(scope="session")
def dirac(local_dirac: Instance) -> Iterator[Dirac]:
    helper = Dirac(local_dirac)
    yield helper
    helper.close()


@pytest.fixture
def unique() -> str:
    """A short unique suffix, so tests can re-run against a reused instance."""
    return uuid.uuid4().hex[:8]


#: The longest test files first (minutes, from a CI run), so that pytest-xdist's two workers end together: files are
#: handed out in this order (with ``--dist loadfile --no-loadscope-reorder``), the others after them as collected.
LONGEST_FIRST = (
    "test_campaign.py", "test_cwl_campaign.py", "test_simulation_recovery.py", "test_job_side.py",
    "test_failure_agent.py", "test_vm_host.py", "test_submit_production.py", "test_cwl_production.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's tests keep their order
