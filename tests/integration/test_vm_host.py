"""The failure-management agent on a second DIRAC host ("a data-centre VM") installed with DIRAC's own commands.

The VM (CTAODIRAC.LocalDIRAC.vmhost, docs/operations.md): this extension's wheel in a fresh environment in its own
directory, its own host certificate registered with ``dirac-admin-add-host``, ``dirac-configure`` against the local
DIRAC's CS, ``runsvdir`` (Debian's runit) over its ``startup/``, ``dirac-install-db InstalledComponentsDB``,
``dirac-install-component Framework/ComponentMonitoring`` and the agent with ``dirac-install-component -m
FailureManagementAgent``. Shown here: the agent decides about a failed job of the local DIRAC from that host (its
decision in FailureManagementDB), runit restarts it after a SIGKILL (new pid, cycles go on), and an option changed
in the CS with ``dirac-configuration-shell`` (``ReportOnly = False``) is taken at its next cycles without a restart:
the next failure is applied, owned by the process runit runs.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from diraccfg import CFG
from test_failure_agent import JOB_STATES, SETUP, STALLED, TASKS, _walk  # the same transformation and job walk

from CTAODIRAC.LocalDIRAC import control
from CTAODIRAC.LocalDIRAC.vmhost import VMHost

pytestmark = pytest.mark.integration

CHECKOUT = Path(__file__).resolve().parents[2]


def _world(dirac, unique: str, out: dict) -> None:
    """A DataReprocessing transformation (Idle) with 2 jobs submitted by DIRAC's WorkflowTaskAgent, Waiting."""
    try:
        made = dirac.py(f"NAME = {unique!r}\nCOUNT = 2\n" + SETUP)
        tid = made["tid"]
        dirac.sql("TransformationDB", "UPDATE TransformationTasks SET CreationTime = UTC_TIMESTAMP() - INTERVAL 2 "
                  f"MINUTE WHERE TransformationID = {tid}")  # fmt: skip
        run = control.run_agent(dirac.inst, "Transformation/WorkflowTaskAgent", options=[
            "TransType=DataReprocessing", "MonitorTasks=False", "MonitorFiles=False", "shifterProxy="])  # fmt: skip
        assert run.returncode == 0, run.output[-3000:]
        tasks = dirac.py(f"TID = {tid}\n" + TASKS)
        jobs = sorted(int(ext) for _, ext, _, _ in tasks if ext and ext != "0")
        assert len(jobs) == 2, tasks
        deadline = time.monotonic() + 240
        while not all(s == "Waiting" for s in dirac.py(f"JOBS = {jobs}\n" + JOB_STATES).values()):
            assert time.monotonic() < deadline, "jobs not Waiting"
            time.sleep(3)
        dirac.sql("TransformationDB", f"UPDATE Transformations SET Status = 'Idle' WHERE TransformationID = {tid}")
        out.update(tid=tid, jobs=jobs)
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        out["error"] = exc


def _decision(dirac, tid: int, job: int) -> dict[str, str] | None:
    rows = dirac.sql("FailureManagementDB", "SELECT Kind, Class, State, Owner FROM FMDecisions WHERE "
                     f"TransformationID = {int(tid)} AND JobID = {int(job)} AND Kind != 'avoid-site'")  # fmt: skip
    return dict(zip(("Kind", "Class", "State", "Owner"), rows[0])) if rows else None


def _wait(what: str, check, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else "(no log)"
            raise AssertionError(f"{what}: not after {timeout:.0f} s; the agent's log ends:\n{tail}")
        time.sleep(1)


def _cycles(log: Path, mode: str = "") -> int:
    return log.read_text(errors="replace").count(f"Cycle done ({mode}" if mode else "Cycle done (")


UNIQUE = uuid.uuid4().hex[:8]
#: The agent is installed under an instance name of its own (-m FailureManagementAgent): its own CS section, which
#: the test changes, and its own high-water mark; other tests' FailureManagementAgent section is never touched.
AGENT = f"FailureManagementAgent{UNIQUE}"
COMPONENT = f"Transformation/{AGENT}"


@pytest.fixture(scope="module")
def vm(local_dirac, tmp_path_factory):
    host = VMHost(local_dirac, tmp_path_factory.mktemp("vm") / "ctao-vm", name=f"ctao-vm-{UNIQUE}")
    yield host
    host.stop()
    host.unregister((COMPONENT,))  # a reused local DIRAC keeps no trace of the VM in its CS


def test_the_agent_on_a_vm_under_runit_acts_survives_a_kill_and_takes_cs_changes(dirac, vm):
    unique, agent, component = UNIQUE, AGENT, COMPONENT
    world: dict = {}
    thread = threading.Thread(target=_world, args=(dirac, unique, world))
    thread.start()  # the transformation and its jobs are made while the VM is installed

    t0 = time.monotonic()
    times = vm.install(CHECKOUT, {component: {
        "Module": "FailureManagementAgent", "PollingTime": "10", "MinJobAge": "0", "TransformationStatuses": "Idle",
        "TransformationTypes": "DataReprocessing", "ReportOnly": "True",
    }})  # fmt: skip
    install_seconds = time.monotonic() - t0
    print(f"VM installed in {install_seconds:.1f} s: {times}")

    # DIRAC's layout: the runit directory and startup link dirac-install-component made, the run script sourcing the
    # VM's bashrc, the software in its own environment
    run_script = (vm.root / "runit" / "Transformation" / agent / "run").read_text()
    assert f"exec dirac-agent {component}" in run_script and str(vm.bashrc) in run_script
    assert vm.service_dir(component).resolve() == (vm.root / "runit" / "Transformation" / agent).resolve()
    assert (vm.pro / "bin" / "dirac-agent").exists() and not vm.pro.resolve().is_relative_to(CHECKOUT)
    installed = vm.run(["python", "-c", "import CTAODIRAC; print(CTAODIRAC.__file__)"]).stdout.strip()
    # the wheel, not the checkout's editable install
    assert Path(installed).resolve().is_relative_to(vm.versions.resolve()), installed
    assert f"Servers = {dirac.inst.cs_url()}" in vm.dirac_cfg.read_text()  # written by dirac-configure
    status = vm.run(["dirac-status-component"]).stdout  # DIRAC's own status command (runsvstat)
    assert re.search(rf"Transformation\s+{agent}\s+Run\b", status) or f"{agent}" in status, status

    state, pid = vm.sv_status(component)
    assert state == "run" and pid, (state, pid)
    log = vm.log_file(component)

    thread.join(timeout=300)
    assert "error" not in world, world.get("error")
    tid, (job1, job2) = world["tid"], world["jobs"]

    # 1. the agent acts from the VM: job 1 failed (pilot stalled), its decision recorded, report-only
    _walk(dirac, {job1: STALLED})
    first = _wait("the VM's agent recorded a decision for job 1", lambda: _decision(dirac, tid, job1), 120, log)
    assert (first["Kind"], first["Class"], first["State"]) == ("retry", "infrastructure", "ReportOnly"), first
    assert _cycles(log, "report-only") >= 1

    # 2. SIGKILL: runit starts the agent again (new pid) and its cycles go on
    before = _cycles(log)
    os.kill(pid, signal.SIGKILL)
    new_pid = _wait("runit restarted the agent", lambda: (lambda s: s[1] if s[0] == "run" and s[1] != pid else None)(
        vm.sv_status(component)), 30, log)
    assert new_pid != pid
    _wait("a cycle after the restart", lambda: _cycles(log) > before, 60, log)

    # 3. an option changed in the CS (ReportOnly = False) is read at the next cycles, without a restart
    vm.set_cs_options({f"/Systems/Transformation/Agents/{agent}/ReportOnly": "False"})
    acting_before = _cycles(log, "acting")
    _wait("a cycle in act mode after the CS change", lambda: _cycles(log, "acting") > acting_before, 90, log)
    _walk(dirac, {job2: STALLED})
    second = _wait("the decision for job 2 applied", lambda: (lambda d: d if d and d["State"] == "Applied" else None)(
        _decision(dirac, tid, job2)), 60, log)
    assert second["Kind"] == "retry"
    assert second["Owner"].split(":")[1] == str(new_pid), (second, new_pid)  # the process runit runs
    assert vm.sv_status(component) == ("run", new_pid)

    # 4. an upgrade: the wheel in a new version directory, pro moved to it, the components restarted by runit
    old_version = vm.pro.resolve()
    cycles = _cycles(log)
    new_version = vm.upgrade(CHECKOUT)
    assert new_version != old_version and vm.pro.resolve() == new_version.resolve() and old_version.is_dir()
    state, upgraded_pid = vm.sv_status(component)
    assert state == "run" and upgraded_pid != new_pid
    _wait("a cycle after the upgrade", lambda: _cycles(log) > cycles, 60, log)

    # 5. stopping the VM stops exactly its processes
    vm.stop()
    assert vm.runsvdir_pid() is None and vm.runsv_processes() == []
    assert not Path(f"/proc/{upgraded_pid}").exists()

    # 6. and the CS forgets it: its host entry, the agent's section, the ComponentMonitoring URL
    vm.unregister((component,))
    cs = CFG().loadFromFile(str(dirac.inst.cs_cfg))
    assert not cs.isSection(f"Registry/Hosts/{vm.name}") and not cs.isSection(f"Systems/Transformation/Agents/{agent}")
    assert cs.getOption("Systems/Framework/URLs/ComponentMonitoring") is None
