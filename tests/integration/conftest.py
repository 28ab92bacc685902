"""Integration tests run against a real local DIRAC (MariaDB, CS and services as local processes).

The session fixture brings the instance up with ``dirac-ctao-local up`` (or reuses the one that is up):
``CTAODIRAC_LOCAL_ROOT`` chooses the instance directory. DIRAC code runs in subprocesses, as the user
the test names, so that each call gets DIRAC's global state fresh and with the right proxy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from CTAODIRAC.LocalDIRAC import control, mariadb
from CTAODIRAC.LocalDIRAC.instance import Instance

pytestmark = pytest.mark.integration

PRELUDE = """
import json, sys
from DIRAC.Core.Base.Script import Script
Script.parseCommandLine(ignoreErrors=True)
"""
MARK = "__CTAODIRAC_RESULT__"


class DiracCallFailed(AssertionError):
    pass


@dataclass
class Dirac:
    """Runs Python snippets with DIRAC initialised, as a user of the local instance."""

    inst: Instance

    def py(self, code: str, user: str | None = "prodmgr", timeout: float = 300) -> Any:
        """Run ``code`` (which sets ``result``) and return ``result`` (JSON round trip)."""
        script = PRELUDE + textwrap.dedent(code) + f"\nprint({MARK!r} + json.dumps(result, default=str))\n"
        args = [sys.executable, "-c", script]
        if user is None:
            args += ["-o", "/DIRAC/Security/UseServerCertificate=yes"]
        env = self.inst.environment(user)
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=self.inst.root)
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise DiracCallFailed(f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")

    def sql(self, db: str, query: str) -> list[list[str]]:
        """Rows of a query run directly in the instance's MariaDB (for what no DIRAC RPC exposes)."""
        out = mariadb._client(self.inst, db, sql=query)  # noqa: SLF001 - test helper
        return [line.split("\t") for line in out.splitlines() if line]

    def run(self, args: list[str], user: str | None = "prodmgr", timeout: float = 300) -> subprocess.CompletedProcess:
        return control.run_dirac(self.inst, args, user=user, check=False, timeout=timeout)


@pytest.fixture(scope="session")
def local_dirac() -> Instance:
    inst = Instance()
    control.up(inst)
    return inst


@pytest.fixture(scope="session")
def dirac(local_dirac: Instance) -> Dirac:
    return Dirac(local_dirac)


@pytest.fixture
def unique() -> str:
    """A short unique suffix, so tests can re-run against a reused instance."""
    return uuid.uuid4().hex[:8]
