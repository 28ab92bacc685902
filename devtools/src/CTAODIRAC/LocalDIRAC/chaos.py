"""The chaos campaign: the example campaign run on the local DIRAC while faults are injected.

``dirac-ctao-local campaign --chaos [--seed N]`` runs :mod:`CTAODIRAC.LocalDIRAC.campaign` with an
:class:`Injector` that, seeded, bounded in count and in time, and logging every fault to ``faults.jsonl``, does
what real data centres do to a campaign:

job faults, each a real DIRAC failure mode (the class the failure agent should find in brackets):

- ``kill-pilot`` [infrastructure]: a pilot (JobAgent) SIGKILLed with its job running; DIRAC's StalledJobAgent
  fails the job (only when the instance runs OpenSearch: the agent reads the job's pilot reference there);
- ``software-missing`` [software]: a pilot whose software area is not mounted (a private mount namespace hides
  the ctapipe environment's ``bin``, as on a worker without CVMFS) runs one job;
- ``payload-fails`` [application]: a pilot whose ctapipe programs crash (exit 1) runs one job;
- ``replica-lost`` [input-data]: the stored copies of an input file not yet processed vanish from the storage
  elements for a while, then come back (the retry reads it); with ``permanent_loss`` one more DL0 run is
  registered whose copies never come back: it must end given up, its transformation still completing;
- ``output-se-banned`` [output-upload]: the output storage element banned for writing in DIRAC's
  ResourceStatus for a while: jobs ending then store their outputs on the failover SE with a request that
  DIRAC's RequestExecutingAgent completes later (no job fails: the fault is absorbed);
- a bad site (``bad_site``): a pilot of the second site whose worker node has no disk space left (the job
  wrapper's watchdog kills every job: "Job has insufficient disk space to continue", infrastructure); the DL0
  files have a copy at that site's SE, so first-level jobs can go there until the failure agent bans it for them;

control-plane faults: long-running agents (ours and DIRAC's) SIGKILLed at random moments and restarted by the
:class:`Supervisor` as runit would; MariaDB restarted once; one DIRAC service killed and restarted; the
submission itself killed at a random point and run again (by the campaign driver).

The plan (:func:`plan_faults`) is pure and seeded; applying a fault needs the moment to be right (a running
job, an unprocessed file), so a due fault waits until it can be applied, and is recorded ``skipped`` if it never
could within its grace time.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from CTAODIRAC.LocalDIRAC.instance import SPARE_SITE

#: The failure class each job fault should be classified as (None: no job is failed by it).
JOB_FAULTS: dict[str, str | None] = {
    "kill-pilot": "infrastructure",
    "software-missing": "software",
    "payload-fails": "application",
    "replica-lost": "input-data",
    "output-se-banned": None,
}
CONTROL_FAULTS = ("kill-agent", "restart-mariadb", "kill-service")
#: The class of every failure at the bad site.
BAD_SITE_CLASS = "infrastructure"
#: The failure agent's SiteBanThreshold in a chaos run: two failures of a transformation at a site (a pilot
#: killed once at the good site does not ban it).
SITE_BAN_THRESHOLD = 2
#: Services one of which is killed and restarted (their clients retry; nothing may be lost).
SERVICES = ("Transformation/TransformationManager", "WorkloadManagement/JobStateUpdate",
            "DataManagement/FileCatalog", "WorkloadManagement/Matcher", "RequestManagement/ReqManager")  # fmt: skip
#: How long after its time a due fault may still be applied.
GRACE_SECONDS = 240.0
#: After an SE ban is lifted, the requests it delayed are released every this many seconds until the run ends: a
#: DIRAC client keeps an SE's status for ``Operations/.../ResourceStatus/Config/Cache`` (60 s here) plus up to 20 %
#: (DIRAC's RSSCache spreads the expiries; DIRAC's default is 300 s), longer when a refresh fails (the database
#: restarting), so a request may meet the lifted ban again after the lift, and wait another hour, holding its
#: job's inputs Assigned (and the campaign) that long. The release used to stop 360 s after the lift, which such a
#: client could outlast (seen with the 300-s cache: 3.5 min after the lift).
RELEASE_EVERY_SECONDS = 30.0
#: A request still Assigned this long after it was taken is put back (see :func:`kick_assigned_requests`).
KICK_GRACE_SECONDS = 120.0
#: How often the run looks for such requests (and for tasks left Reserved).
KICK_EVERY_SECONDS = 30.0
#: A task still Reserved this long after its last update is recovered (see :func:`recover_reserved_tasks`).
RESERVED_GRACE_SECONDS = 120.0
#: What the run does as an operator would (docs/chaos.md), counted in the report: requests released after the SE
#: ban, requests left Assigned put back, tasks left Reserved recovered, and the looks that failed.
OPERATOR_ACTIONS = ("released", "kicked", "reserved-recovered", "release-error", "kick-error", "reserved-error")


@dataclass(frozen=True)
class ChaosSettings:
    """How much chaos: counts per fault kind, within ``window`` seconds of the run."""

    seed: int = 1
    window: float = 360.0
    kill_pilot: int = 2
    software_missing: int = 1
    payload_fails: int = 2
    replica_lost: int = 2
    output_se_banned: int = 1
    #: agents SIGKILLed (each agent in turn: at least as many as agents kills every one)
    agent_kills: int = 12
    mariadb_restarts: int = 1
    service_kills: int = 1
    permanent_loss: bool = True
    bad_site: bool = True
    kill_submission: bool = True
    #: seconds a lost replica stays lost, and the output SE stays banned
    outage: float = 90.0

    @classmethod
    def short(cls, seed: int = 1) -> ChaosSettings:
        """Fewer faults, sooner: the seeded run of the integration test."""
        return cls(seed=seed, window=200.0, kill_pilot=1, software_missing=1, payload_fails=1, replica_lost=1,
                   output_se_banned=1, agent_kills=6, outage=60.0)


@dataclass(frozen=True)
class PlannedFault:
    at: float
    kind: str
    target: str = ""


def plan_faults(settings: ChaosSettings, agents: Sequence[str], services: Sequence[str] = SERVICES,
                kill_pilot: bool = True) -> list[PlannedFault]:
    """The faults of a run, in time order: the same ``settings`` (seed included) give the same plan.
    ``kill_pilot`` False: that kind is left out (no OpenSearch: DIRAC's StalledJobAgent cannot fail the job)."""
    rng = random.Random(settings.seed)
    window = settings.window
    faults: list[PlannedFault] = []

    def some(kind: str, count: int, start: float = 0.15, target: Callable[[], str] = lambda: "") -> None:
        for _ in range(count):
            faults.append(PlannedFault(round(rng.uniform(start * window, window), 1), kind, target()))

    some("kill-pilot", settings.kill_pilot if kill_pilot else 0)
    some("software-missing", settings.software_missing)
    some("payload-fails", settings.payload_fails)
    some("replica-lost", settings.replica_lost, start=0.0)
    some("output-se-banned", settings.output_se_banned, start=0.3)
    # every agent in turn (in a seeded order), so that each is killed when there are as many kills as agents
    order = list(agents)
    rng.shuffle(order)
    turn = iter(order * (settings.agent_kills // max(len(order), 1) + 1))
    some("kill-agent", settings.agent_kills, start=0.05, target=lambda: next(turn))
    some("restart-mariadb", settings.mariadb_restarts, start=0.3)
    some("kill-service", settings.service_kills, start=0.2, target=lambda: rng.choice(list(services)))
    return sorted(faults, key=lambda f: (f.at, f.kind, f.target))


def submission_kill_delay(settings: ChaosSettings, typical: float = 20.0) -> float:
    """Seconds after which the first submission is killed (somewhere inside a typical submission)."""
    return round(random.Random(settings.seed * 7919 + 1).uniform(0.5, typical), 1)


# --- the report, pure ------------------------------------------------------------------------------------------


def confusion(expected: dict[int, str], decided: dict[int, str]) -> dict[str, dict[str, int]]:
    """``{injected class: {class the agent decided (or "none"): jobs}}`` for the jobs a fault hit."""
    table: dict[str, dict[str, int]] = {}
    for job, klass in expected.items():
        row = table.setdefault(klass, {})
        seen = decided.get(job, "none")
        row[seen] = row.get(seen, 0) + 1
    return table


#: Seconds of clock and reporting slack around a loss (a job's records and the injector share this machine's clock).
LOSS_SLACK = 10.0


def failed_for_lost_input(inputs: Iterable[str], losses: dict[str, list[tuple[float, float]]],
                          history: Sequence[tuple[str, float]], ended: float) -> bool:
    """Whether a failed job failed because one of its ``inputs`` was lost, from what DIRAC recorded of it.

    ``losses``: ``{lfn: [(lost from, back at (inf: never))]}`` in epoch seconds; ``history``: the job's logging
    records ``(MinorStatus, epoch)`` in order; ``ended``: when it last changed. DIRAC's job wrapper downloads the
    inputs in its input resolution ("Input Data Resolution"), before the payload ("Application"): a job whose
    payload started after its last resolution had its inputs, whatever a loss did later (it failed for something
    else); one whose resolution ran while an input was lost failed for that. A job that never reached a job
    wrapper failed for the loss if it ended while the input was lost."""
    windows = [w for lfn in inputs for w in losses.get(lfn, [])]
    if not windows:
        return False
    resolutions = [i for i, (minor, _) in enumerate(history) if minor == "Input Data Resolution"]
    if not resolutions:
        return any(start - LOSS_SLACK <= ended <= end + LOSS_SLACK for start, end in windows)
    last = resolutions[-1]
    if any(minor == "Application" for minor, _ in history[last + 1:]):
        return False
    when = history[last][1]
    return any(start - LOSS_SLACK <= when <= end + LOSS_SLACK for start, end in windows)


def site_bans(decisions: Iterable[Mapping[str, Any]], site: str, klass: str = BAD_SITE_CLASS,
              threshold: int = SITE_BAN_THRESHOLD) -> tuple[list[int], list[int]]:
    """``(due, banned)``: the transformations with at least ``threshold`` failures of class ``klass`` at ``site``
    (outcome decisions of the failure agent: retry, give-up, leave), and those the agent made avoid ``site``."""
    failures: dict[int, int] = {}
    banned: set[int] = set()
    for d in decisions:
        if d["Site"] != site or d["TransformationID"] is None:
            continue
        tid = int(d["TransformationID"])
        if d["Kind"] in ("retry", "give-up", "leave") and d["Class"] == klass:
            failures[tid] = failures.get(tid, 0) + 1
        elif d["Kind"] == "avoid-site":
            banned.add(tid)
    return sorted(tid for tid, n in failures.items() if n >= threshold), sorted(banned)


def render_confusion(table: dict[str, dict[str, int]]) -> str:
    """The confusion table as text, one row per injected class."""
    columns = sorted({c for row in table.values() for c in row})
    width = max([len(c) for c in columns] + [len(r) for r in table] + [8])
    lines = ["injected \\ decided".ljust(width + 2) + "".join(c.rjust(width + 2) for c in columns)]
    for klass in sorted(table):
        lines.append(klass.ljust(width + 2) + "".join(str(table[klass].get(c, 0)).rjust(width + 2) for c in columns))
    return "\n".join(lines)


def unaccounted(files: Iterable[dict[str, Any]], given_up: set[tuple[int, str]]) -> list[str]:
    """Inputs neither Processed nor given up (with a give-up decision of the failure agent)."""
    problems = []
    for f in files:
        key = (int(f["TransformationID"]), f["LFN"])
        if f["Status"] == "Processed":
            continue
        if key in given_up:
            continue
        problems.append(f"transformation {key[0]}: {key[1]} is {f['Status']}, neither processed nor given up")
    return problems


def stale_assigned(rows: Iterable[Sequence[Any]], now: float, grace: float = KICK_GRACE_SECONDS) -> list[int]:
    """The requests of ``rows`` (DIRAC's ``getRequestIDsList``: ``[RequestID, Status, LastUpdate]``, UTC) that are
    Assigned and were last updated more than ``grace`` seconds before ``now`` (epoch seconds)."""
    return [int(row[0]) for row in rows
            if row[1] == "Assigned" and (updated := _epoch(row[2])) and now - updated > grace]  # fmt: skip


def kick_assigned_requests(record: Callable[..., None], grace: float = KICK_GRACE_SECONDS) -> list[int]:
    """Put back the requests left Assigned for more than ``grace`` seconds; returns their IDs.

    DIRAC's RequestExecutingAgent marks a request Assigned when it takes it and puts it back when it has run it; if
    the agent is killed meanwhile, or its put-back fails (the database restarting: a few seconds of retries only),
    the request stays Assigned and nothing runs it again: a failover request's last operation, setting the job's
    inputs Processed, then never happens, and the campaign waits. DIRAC's CleanReqDBAgent puts such requests back
    after ``KickGraceHours`` (whole hours, 1 by default); this does what it does (peek, put back: the RequestDB
    makes the request Waiting again) after ``grace`` seconds, through DIRAC's ``ReqClient``, and records each
    one with ``record`` (``kicked``). The agent never runs a request twice at once: one it gets back while still
    running it is kept and not run (its ``cacheRequest``)."""
    from DIRAC.RequestManagementSystem.Client.ReqClient import ReqClient

    client = ReqClient()
    res = client.getRequestIDsList(["Assigned"], 1000)
    if not res["OK"]:
        raise RuntimeError(f"getRequestIDsList: {res['Message']}")
    kicked = []
    for request_id in stale_assigned(res["Value"], time.time(), grace):
        status = client.getRequestStatus(request_id)  # as stored (a peeked Request computes its own status)
        if not status["OK"] or status["Value"] != "Assigned":
            continue
        peek = client.peekRequest(request_id)
        if not peek["OK"] or not peek["Value"]:
            continue
        request = peek["Value"]
        put = client.putRequest(request, useFailoverProxy=False)
        record("kicked", request=request_id, name=request.RequestName, last_update=str(request.LastUpdate),
               ok=put["OK"], error=None if put["OK"] else put["Message"])
        if put["OK"]:
            kicked.append(request_id)
    return kicked


def recover_reserved_tasks(tids: Iterable[int], record: Callable[..., None],
                           grace: float = RESERVED_GRACE_SECONDS) -> list[str]:
    """Recover the tasks of ``tids`` left Reserved for more than ``grace`` seconds; returns their names.

    DIRAC's WorkflowTaskAgent marks the tasks it is about to submit Reserved, submits their jobs, then records
    them Submitted with their job IDs. Killed in between, or failing in between (an exception in a destination
    plugin), it leaves tasks Reserved, and their files Assigned to them, for good. With ``CheckReserved`` it looks
    for such tasks, but only for those Reserved for an hour (hard-coded): a task whose job exists is set Submitted
    with it, any other goes back to Created, to be submitted again. This does the same after ``grace`` seconds (the
    task's LastUpdateTime: a task is Reserved a second or so before its job is submitted), with DIRAC's own
    ``WorkflowTasks.updateTransformationReservedTasks`` (jobs looked up by name), and records each one
    (``reserved-recovered``)."""
    from datetime import UTC, datetime, timedelta

    from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
    from DIRAC.TransformationSystem.Client.WorkflowTasks import WorkflowTasks

    tc = TransformationClient()
    older = (datetime.now(UTC) - timedelta(seconds=grace)).strftime("%Y-%m-%d %H:%M:%S")
    res = tc.getTransformationTasks({"TransformationID": list(tids), "ExternalStatus": "Reserved"}, older=older,
                                    timeStamp="LastUpdateTime")  # fmt: skip
    if not res["OK"]:
        raise RuntimeError(f"getTransformationTasks: {res['Message']}")
    if not res["Value"]:
        return []
    found = WorkflowTasks(transClient=tc).updateTransformationReservedTasks(res["Value"])
    if not found["OK"]:
        raise RuntimeError(f"updateTransformationReservedTasks: {found['Message']}")
    recovered = []
    for name in found["Value"]["NoTasks"]:  # no job: submitted again
        tid, task = (int(part) for part in name.split("_"))
        done = tc.setTaskStatus(tid, task, "Created")
        record("reserved-recovered", task=name, to="Created", ok=done["OK"], error=done.get("Message"))
        recovered.append(name)
    for name, job in found["Value"]["TaskNameIDs"].items():  # its job exists: the task is that job's
        tid, task = (int(part) for part in name.split("_"))
        done = tc.setTaskStatusAndWmsID(tid, task, "Submitted", str(job))
        record("reserved-recovered", task=name, to="Submitted", job=job, ok=done["OK"], error=done.get("Message"))
        recovered.append(name)
    return recovered


def describe_stuck(tid: int, task: int, lfn: str, job: int | None, job_summary: Mapping[str, Any] | None,
                   request: Mapping[str, Any] | None) -> str:
    """One line saying where an input still Assigned at the end is held: its task's job (status, minor status,
    application status) and the job's request, if any (status, when it may run next, each operation's status)."""
    where = f"transformation {tid} task {task} ({lfn.rsplit('/', 1)[-1]}): "
    if not job:
        return where + "no job recorded for the task"
    if job_summary is None:
        where += f"job {job} unknown to the WMS"
    else:
        where += (f"job {job} {job_summary.get('Status')} / {job_summary.get('MinorStatus')} / "
                  f"{job_summary.get('ApplicationStatus')}")
    if request is None:
        return where + "; no request"
    ops = ", ".join(f"{op['Type']} {op['Status']}" + (f" ({op['Error']})" if op.get("Error") else "")
                    for op in request.get("Operations", []))  # fmt: skip
    return (where + f"; request {request['RequestID']} {request['Status']} (last update {request.get('LastUpdate')}, "
            f"not before {request.get('NotBefore')}): {ops or 'no operation'}")


def output_problems(files: Iterable[dict[str, Any]], outputs: dict[int, dict[int, list[str]]],
                    produces: set[int]) -> list[str]:
    """Outputs that are orphans or duplicates.

    ``files``: the transformations' files (``TransformationID``, ``LFN``, ``Status``, ``TaskID``);
    ``outputs``: ``{transformation: {task: [output LFNs registered under <output_dir>/<task>/]}}``;
    ``produces``: the transformations whose tasks register outputs.
    Each Processed input's final task must have outputs (when its transformation produces any); a task holding
    outputs must be the final task of at least one Processed input (else: an orphan, e.g. a failed attempt that
    registered something); two tasks of one transformation processing the same input cannot both be final."""
    problems = []
    final: dict[int, set[int]] = {}
    for f in files:
        if f["Status"] == "Processed" and f.get("TaskID"):
            final.setdefault(int(f["TransformationID"]), set()).add(int(f["TaskID"]))
    for tid, tasks in outputs.items():
        for task, lfns in tasks.items():
            if lfns and task not in final.get(tid, set()):
                problems.append(f"transformation {tid} task {task}: orphan outputs {', '.join(sorted(lfns))}")
    for tid, tasks in final.items():
        if tid not in produces:
            continue
        for task in tasks:
            if not outputs.get(tid, {}).get(task):
                problems.append(f"transformation {tid} task {task}: processed its inputs but registered nothing")
    return problems


def storage_problems(catalog: dict[str, set[str]], stored: dict[str, set[str]],
                     lost: set[str] = frozenset()) -> list[str]:
    """``catalog``/``stored``: ``{SE: {LFN}}`` registered in the catalog / found in the SE's directory. Every
    stored file must be a registered replica (no file the catalog does not know); a registered replica missing
    from its SE is a problem too, except for the ``lost`` ones (lost on purpose and given up)."""
    problems = []
    for se in sorted(set(catalog) | set(stored)):
        for lfn in sorted(stored.get(se, set()) - catalog.get(se, set())):
            problems.append(f"{se}: {lfn} is stored but not in the catalog")
        for lfn in sorted(catalog.get(se, set()) - stored.get(se, set()) - set(lost)):
            problems.append(f"{se}: {lfn} is in the catalog but not stored")
    return problems


# --- the DIRAC side -------------------------------------------------------------------------------------------


@dataclass
class AgentSpec:
    name: str
    polling: int
    options: list[str] = field(default_factory=list)


class Supervisor:
    """Keeps the long-running agents running, as runit does on a VM: an agent that exits (or is killed) is
    started again at the next :meth:`keep_running`, at least ``delay`` seconds after it was seen dead."""

    def __init__(self, inst: Any, specs: Sequence[AgentSpec], delay: float = 1.0) -> None:
        from CTAODIRAC.LocalDIRAC import control

        self.inst = inst
        self.specs = {s.name: s for s in specs}
        self.delay = delay
        self.procs = {s.name: control.start_agent(inst, s.name, s.polling, s.options) for s in specs}
        self.dead_since: dict[str, float] = {}
        self.restarts: dict[str, int] = {name: 0 for name in self.specs}

    def keep_running(self) -> None:
        from CTAODIRAC.LocalDIRAC import control

        now = time.monotonic()
        for name, proc in self.procs.items():
            if proc.poll() is None:
                continue
            since = self.dead_since.setdefault(name, now)
            if now - since >= self.delay:
                spec = self.specs[name]
                self.procs[name] = control.start_agent(self.inst, name, spec.polling, spec.options)
                self.restarts[name] += 1
                self.dead_since.pop(name, None)

    def kill(self, name: str) -> bool:
        proc = self.procs[name]
        if proc.poll() is not None:
            return False
        _kill_group(proc.pid)
        proc.wait(timeout=30)
        return True

    def stop(self) -> None:
        from CTAODIRAC.LocalDIRAC import control

        for proc in self.procs.values():
            control.stop_agent(proc)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL process ``pid``, its process group and every descendant (DIRAC's job wrapper runs its payload in
    a session of its own: killing the pilot's group alone leaves the job running), as a batch system ends a
    pilot's whole job."""
    descendants = _children(pid)
    _kill_group(pid)
    for child in descendants:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running_job(pid: int) -> int | None:
    """The DIRAC job whose ``dirac-ctao-run-step`` runs its payload under process ``pid`` (a pilot), if any: the
    step's program is running (a child of the step), so the job has read its inputs and stored no output yet (a
    pilot killed while its job uploads leaves outputs that only DIRAC's data recovery would remove)."""
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"dirac-ctao-run-step" not in cmdline or not _children(child):
                continue
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"JOBID="):
                return int(item[6:] or 0) or None
    return None


class Pilots:
    """The local pilots: ``count`` good ones (JobAgents of the local site, started again when they stop), an
    optional bad-site pilot, and one-job "sick" pilots started on demand for the software and payload faults."""

    def __init__(self, inst: Any, count: int, bad_site: dict[str, Any] | None = None) -> None:
        self.inst = inst
        self.procs: list[Any] = [None] * count
        self.bad_site = bad_site
        self.bad: Any = None
        self.sick: Any = None
        self.sick_log: Path | None = None
        self.started = 0

    def keep_running(self) -> None:
        from CTAODIRAC.LocalDIRAC import control

        for i, proc in enumerate(self.procs):
            if proc is None or proc.poll() is not None:
                self.procs[i] = control.start_pilot(self.inst, i + 1)
                self.started += 1
        if self.bad_site is not None and (self.bad is None or self.bad.poll() is not None):
            self.bad = control.start_pilot(self.inst, "bad-site", overrides=self.bad_site,
                                           log_name="agent_WorkloadManagement_JobAgent_bad-site")

    def start_sick(self, name: str, prefix: list[str]) -> Path:
        """A pilot for one cycle (at most one job) under ``prefix``; its own log file, returned."""
        from CTAODIRAC.LocalDIRAC import control

        self.started += 1
        # a log of its own (the run's process ID in its name: a log of an earlier run names other jobs)
        log_name = f"agent_WorkloadManagement_JobAgent_{name}_{os.getpid()}_{self.started}"
        self.sick = control.start_pilot(self.inst, "sick", cycles=1, prefix=prefix, log_name=log_name)
        self.sick_log = self.inst.log(log_name)
        return self.sick_log

    def sick_running(self) -> bool:
        return self.sick is not None and self.sick.poll() is None

    def stop(self) -> None:
        from CTAODIRAC.LocalDIRAC import control

        for proc in [*self.procs, self.bad, self.sick]:
            if proc is not None:
                control.stop_agent(proc)


def received_job(log: Path) -> int | None:
    """The job a JobAgent's log says it received (``Received JobID=N``), if any."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    marker = "Received JobID="
    at = text.rfind(marker)
    if at < 0:
        return None
    digits = "".join(ch for ch in text[at + len(marker):at + len(marker) + 12] if ch.isdigit() or ch == ",")
    return int(digits.split(",")[0]) if digits.split(",")[0] else None


def hidden_bin(source: Path, replacement: Path) -> list[str]:
    """The prefix that runs a command in a private mount namespace where ``source`` shows ``replacement``."""
    script = f'mount --bind "{replacement}" "{source}" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "chaos"]


@dataclass
class InjectedFault:
    planned: PlannedFault
    state: str = "due"  # due, sick (a one-job pilot waits for its job), applied, skipped
    applied_at: float | None = None
    jobs: list[int] = field(default_factory=list)
    lfns: list[str] = field(default_factory=list)
    detail: str = ""
    until: float | None = None  # when an outage ends
    undone: bool = False
    #: when a replica was lost, and came back (epoch seconds; None: not yet)
    lost_at: float | None = None
    restored_at: float | None = None
    #: a sick fault whose job was masked by a lost input waits for another job until then (else its plan's grace)
    deadline: float | None = None
    #: when requests delayed by a lifted SE ban were last released (None: the ban is not lifted yet; once it is,
    #: they are released every RELEASE_EVERY_SECONDS until the run ends)
    released_at: float | None = None


class Injector:
    """Applies the planned faults as the run goes (:meth:`tick`), logs each to ``log_path`` (JSON lines)."""

    def __init__(self, inst: Any, settings: ChaosSettings, plan: list[PlannedFault], log_path: Path,
                 supervisor: Supervisor, pilots: Pilots, ctapipe_env: Path, tids: Sequence[int],
                 output_se: str, stores: dict[str, Path], lost_for_good: Iterable[str] = (),
                 operator_every: float | None = KICK_EVERY_SECONDS) -> None:
        self.inst = inst
        self.settings = settings
        self.faults = [InjectedFault(p) for p in plan]
        self.log_path = log_path
        self.supervisor = supervisor
        self.pilots = pilots
        self.ctapipe_env = ctapipe_env
        self.tids = list(tids)
        self.output_se = output_se
        self.stores = stores  # {SE: its directory}
        self.saved = log_path.parent / "lost-replicas"
        self.lost: set[str] = set()  # replicas lost and not back (LFNs)
        self.gone = set(lost_for_good)  # inputs whose every copy is lost for good
        self._tried_lfns: set[str] = set()
        #: how often the run does what an operator would (kick requests, recover tasks; None: never)
        self.operator_every = operator_every
        self._kicked_at = 0.0
        #: what the run did as the operator (OPERATOR_ACTIONS), counted
        self.actions: dict[str, int] = {}

    # -- the log ---------------------------------------------------------------------------------------------
    def record(self, what: str, **data: Any) -> None:
        if what in OPERATOR_ACTIONS:
            self.actions[what] = self.actions.get(what, 0) + 1
        entry = {"time": round(time.time(), 1), "what": what, **data}
        with open(self.log_path, "a") as out:
            out.write(json.dumps(entry, default=str) + "\n")

    # -- the loop --------------------------------------------------------------------------------------------
    def tick(self, elapsed: float) -> None:
        for fault in self.faults:
            if fault.state == "applied" and fault.until is not None and not fault.undone and elapsed >= fault.until:
                self._undo(fault)
                if fault.planned.kind == "output-se-banned":
                    fault.released_at = elapsed
            if fault.released_at is not None and elapsed - fault.released_at >= RELEASE_EVERY_SECONDS:
                fault.released_at = elapsed
                try:
                    self._release_requests()
                except Exception as exc:  # noqa: BLE001 - the database down for a moment: the next one does it
                    self.record("release-error", error=str(exc))
            if fault.state != "due" or elapsed < fault.planned.at:
                continue
            if elapsed > fault.planned.at + GRACE_SECONDS:
                fault.state = "skipped"
                self.record("skipped", kind=fault.planned.kind, planned_at=fault.planned.at,
                            reason="no moment to apply it came within its grace time")
                continue
            try:
                self._apply(fault, elapsed)
            except Exception as exc:  # noqa: BLE001 - a fault that cannot be applied now is tried again
                self.record("apply-error", kind=fault.planned.kind, error=str(exc))
        self._follow_sick(elapsed)
        if self.operator_every is not None and elapsed - self._kicked_at >= self.operator_every:
            self._kicked_at = elapsed
            try:
                kick_assigned_requests(self.record)
            except Exception as exc:  # noqa: BLE001 - DIRAC down for a moment (a fault): the next look does it
                self.record("kick-error", error=str(exc))
            try:
                recover_reserved_tasks(self.tids, self.record)
            except Exception as exc:  # noqa: BLE001 - likewise
                self.record("reserved-error", error=str(exc))

    def finish(self) -> None:
        """Undo every outage still on (the run ended early)."""
        for fault in self.faults:
            if fault.state == "applied" and fault.until is not None and not fault.undone:
                self._undo(fault)

    def _applied(self, fault: InjectedFault, elapsed: float, **data: Any) -> None:
        fault.state = "applied"
        fault.applied_at = elapsed
        self.record("applied", kind=fault.planned.kind, target=fault.planned.target, planned_at=fault.planned.at,
                    at=round(elapsed, 1), expected_class=JOB_FAULTS.get(fault.planned.kind), **data)

    def _apply(self, fault: InjectedFault, elapsed: float) -> None:
        kind = fault.planned.kind
        if kind == "kill-agent":
            if self.supervisor.kill(fault.planned.target):
                self._applied(fault, elapsed)
        elif kind == "restart-mariadb":
            self._restart_mariadb()
            self._applied(fault, elapsed)
        elif kind == "kill-service":
            self._kill_service(fault.planned.target)
            self._applied(fault, elapsed)
        elif kind == "kill-pilot":
            for proc in self.pilots.procs:
                job = running_job(proc.pid) if proc is not None and proc.poll() is None else None
                if job is not None:
                    kill_tree(proc.pid)
                    fault.jobs = [job]
                    self._applied(fault, elapsed, jobs=[job])
                    return
        elif kind in ("software-missing", "payload-fails"):
            if self.pilots.sick_running() or any(f.state == "sick" for f in self.faults):
                return
            prefix = self._sick_prefix(kind)
            log = self.pilots.start_sick(kind, prefix)
            fault.state = "sick"
            fault.detail = str(log)
            self.record("sick-pilot", kind=kind, log=str(log), at=round(elapsed, 1))
        elif kind == "replica-lost":
            lfn = self._unprocessed_input()
            if lfn is None:
                return
            fault.lfns = [lfn]
            fault.lost_at = time.time()
            fault.detail = ", ".join(self._lose(lfn))
            fault.until = elapsed + self.settings.outage
            self._applied(fault, elapsed, lfns=[lfn], ses=fault.detail, until=round(fault.until, 1))
        elif kind == "output-se-banned":
            self._set_write_access("Banned")
            fault.until = elapsed + self.settings.outage
            self._applied(fault, elapsed, se=self.output_se, until=round(fault.until, 1))

    def _follow_sick(self, elapsed: float) -> None:
        """A sick pilot's job is the fault's job; a sick pilot that got none is started again. A job with a lost
        input fails in its input resolution, before the sick worker could show: it does not count, and another
        sick pilot is started for the fault."""
        for fault in self.faults:
            if fault.state != "sick":
                continue
            job = received_job(Path(fault.detail))
            if job is not None:
                masked = sorted(set(self._inputs(job)) & (self.lost | self.gone))
                if not masked:
                    fault.jobs = [job]
                    self._applied(fault, elapsed, jobs=[job], pilot_log=fault.detail)
                    return
                self.record("masked", kind=fault.planned.kind, job=job, lost_inputs=masked)
                fault.deadline = elapsed + GRACE_SECONDS
                fault.detail = ""
            if not self.pilots.sick_running():
                if elapsed > (fault.deadline or fault.planned.at + GRACE_SECONDS):
                    fault.state = "skipped"
                    self.record("skipped", kind=fault.planned.kind, reason="the sick pilot matched no job")
                    return
                fault.detail = str(self.pilots.start_sick(fault.planned.kind, self._sick_prefix(fault.planned.kind)))

    @staticmethod
    def _inputs(job: int) -> list[str]:
        from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

        res = JobMonitoringClient().getInputData(job)
        return [str(lfn) for lfn in res["Value"]] if res["OK"] and isinstance(res["Value"], list) else []

    def _sick_prefix(self, kind: str) -> list[str]:
        area = self.log_path.parent / kind
        if kind == "software-missing":
            area.mkdir(parents=True, exist_ok=True)  # an empty bin: the software area is not there
        else:
            area.mkdir(parents=True, exist_ok=True)
            for program in (self.ctapipe_env / "bin").glob("ctapipe-*"):
                stub = area / program.name
                stub.write_text("#!/bin/sh\necho 'chaos: this worker crashes the payload' >&2\nexit 1\n")
                stub.chmod(0o755)
        return hidden_bin(self.ctapipe_env / "bin", area)

    def _undo(self, fault: InjectedFault) -> None:
        kind = fault.planned.kind
        if kind == "replica-lost":
            for lfn in fault.lfns:
                self._restore(lfn)
            fault.restored_at = time.time()
        elif kind == "output-se-banned":
            self._set_write_access("Active")
            self._release_requests()
        fault.undone = True
        self.record("undone", kind=kind, lfns=fault.lfns)

    # -- the faults' DIRAC and storage actions ---------------------------------------------------------------
    def _restart_mariadb(self) -> None:
        from CTAODIRAC.LocalDIRAC import mariadb
        from CTAODIRAC.LocalDIRAC.processes import Process, stop

        stop(Process(self.inst, mariadb.MYSQL_KEY))
        time.sleep(2)
        mariadb.ensure_running(self.inst, self.inst.identity())

    def _kill_service(self, name: str) -> None:
        from CTAODIRAC.LocalDIRAC import control
        from CTAODIRAC.LocalDIRAC.processes import Process, read_pid

        key = name.replace("/", "_")
        pid = read_pid(Process(self.inst, key))
        if pid is not None:
            _kill_group(pid)
            deadline = time.monotonic() + 20
            while read_pid(Process(self.inst, key)) is not None and time.monotonic() < deadline:
                time.sleep(0.2)
        time.sleep(1)
        control.start_component(self.inst, name)

    def _set_write_access(self, status: str) -> None:
        from DIRAC.ResourceStatusSystem.Client.ResourceStatusClient import ResourceStatusClient

        res = ResourceStatusClient().modifyStatusElement("Resource", "Status", name=self.output_se,
                                                         statusType="WriteAccess", status=status,
                                                         reason="chaos campaign")  # fmt: skip
        if not res["OK"]:
            raise RuntimeError(f"cannot set {self.output_se} WriteAccess {status}: {res['Message']}")

    def _release_requests(self) -> None:
        """Requests that met the ban wait an hour (DIRAC's DMSRequestOperationsBase: "Banning is temporary, next
        attempt in an hour", hard-coded): lifting the ban, release them, as the operator lifting a ban would."""
        from CTAODIRAC.LocalDIRAC import mariadb

        mariadb._client(  # noqa: SLF001 - same package
            self.inst, "ReqDB",
            sql="UPDATE Request SET NotBefore = UTC_TIMESTAMP() WHERE Status = 'Waiting'"
                " AND NotBefore > UTC_TIMESTAMP()",
        )
        self.record("released", what_for="requests delayed by the output SE's ban")

    def _unprocessed_input(self) -> str | None:
        """An input file of the campaign not yet in a task (Unused), present on its SEs, not tried before."""
        from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

        res = TransformationClient().getTransformationFiles({"TransformationID": self.tids, "Status": "Unused"})
        if not res["OK"]:
            return None
        candidates = sorted({f["LFN"] for f in res["Value"]} - self._tried_lfns - self.lost)
        candidates = [lfn for lfn in candidates if any(self._path(se, lfn).exists() for se in self.stores)]
        if not candidates:
            return None
        lfn = random.Random(self.settings.seed + len(self._tried_lfns)).choice(candidates)
        self._tried_lfns.add(lfn)
        return lfn

    def _path(self, se: str, lfn: str) -> Path:
        return self.stores[se] / lfn.lstrip("/")

    def _lose(self, lfn: str) -> list[str]:
        """Move the stored copies of ``lfn`` away (kept aside to come back); the SEs that had one."""
        ses = []
        for se in self.stores:
            path = self._path(se, lfn)
            if path.exists():
                aside = self.saved / se / lfn.lstrip("/")
                aside.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), aside)
                ses.append(se)
        self.lost.add(lfn)
        return ses

    def _restore(self, lfn: str) -> None:
        for se in self.stores:
            aside = self.saved / se / lfn.lstrip("/")
            if aside.exists():
                self._path(se, lfn).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(aside), self._path(se, lfn))
        self.lost.discard(lfn)

    # -- what was done -------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        by_kind: dict[str, dict[str, int]] = {}
        for fault in self.faults:
            row = by_kind.setdefault(fault.planned.kind, {})
            row[fault.state] = row.get(fault.state, 0) + 1
        return {
            "settings": asdict(self.settings),
            "faults": by_kind,
            "agent_restarts": dict(self.supervisor.restarts),
            "operator_actions": dict(sorted(self.actions.items())),
            "expected_classes": {str(job): JOB_FAULTS[f.planned.kind] for f in self.faults
                                 for job in f.jobs if JOB_FAULTS.get(f.planned.kind)},  # fmt: skip
        }

    def expected(self) -> dict[int, str]:
        """``{job: class}`` of the jobs the job faults hit."""
        return {job: str(JOB_FAULTS[f.planned.kind]) for f in self.faults for job in f.jobs
                if JOB_FAULTS.get(f.planned.kind)}  # fmt: skip


def run_killed_then_again(command: list[str], env: dict[str, str], cwd: Path, kill_after: float | None,
                          record: Callable[..., None], timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``command`` (the submission); with ``kill_after``, SIGKILL it after that many seconds first (its
    process group: nothing of it may roll back), then run it again to the end."""
    if kill_after is not None:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=kill_after)
            record("submission-not-killed", seconds=kill_after, returncode=proc.returncode,
                   output=out.decode(errors="replace")[-2000:])
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            out, _ = proc.communicate()
            record("applied", kind="kill-submission", at=kill_after,
                   output=out.decode(errors="replace")[-2000:])
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


# --- the end of a chaos run: checks and report ----------------------------------------------------------------


def _walk_catalog(fc: Any, root: str) -> list[str]:
    """Every file under ``root`` in the catalog (one listDirectory call per level)."""
    files: list[str] = []
    level = [root]
    while level:
        res = fc.listDirectory(level)
        if not res["OK"]:
            raise RuntimeError(f"listDirectory {root}: {res['Message']}")
        level = []
        for listing in res["Value"]["Successful"].values():
            files.extend(listing.get("Files", {}))
            level.extend(listing.get("SubDirs", {}))
    return files


def _walk_store(directory: Path, root: str) -> set[str]:
    base = directory / root.lstrip("/")
    if not base.is_dir():
        return set()
    return {"/" + str(path.relative_to(directory)) for path in base.rglob("*") if path.is_file()}


def _history(monitoring: Any, job: int) -> list[tuple[str, float]]:
    """The job's logging records as ``(MinorStatus, epoch)``, in order (empty when unreadable)."""
    res = monitoring.getJobLoggingInfo(job)
    return [(str(row[1]), _epoch(row[3])) for row in res["Value"]] if res["OK"] else []


def where_held(tc: Any, files: Iterable[dict[str, Any]]) -> list[str]:
    """:func:`describe_stuck` of every input Assigned to a task (read from DIRAC; what cannot be read is said)."""
    from DIRAC.RequestManagementSystem.Client.ReqClient import ReqClient
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    held = [f for f in files if f["Status"] == "Assigned" and f.get("TaskID")]
    if not held:
        return []
    tasks: dict[tuple[int, int], dict[str, Any]] = {}
    for tid in sorted({int(f["TransformationID"]) for f in held}):
        ids = sorted({int(f["TaskID"]) for f in held if int(f["TransformationID"]) == tid})
        res = tc.getTransformationTasks({"TransformationID": tid, "TaskID": ids})
        if not res["OK"]:
            return [f"cannot read the tasks of transformation {tid}: {res['Message']}"]
        tasks.update({(tid, int(t["TaskID"])): t for t in res["Value"]})
    job_of = {key: int(t["ExternalID"]) for key, t in tasks.items() if str(t.get("ExternalID") or "").isdigit()}
    jobs = sorted({job for job in job_of.values() if job > 0})
    summaries = JobMonitoringClient().getJobsSummary(jobs) if jobs else {"OK": True, "Value": {}}
    summary = {int(j): v for j, v in summaries.get("Value", {}).items()} if summaries["OK"] else {}
    client = ReqClient()
    found = client.getRequestIDsForJobs(jobs) if jobs else {"OK": True, "Value": {"Successful": {}}}
    request_of = {int(j): int(r) for j, r in found["Value"]["Successful"].items()} if found["OK"] else {}
    requests: dict[int, dict[str, Any]] = {}
    for job, request_id in request_of.items():
        peek = client.peekRequest(request_id)
        if peek["OK"] and peek["Value"]:
            r = peek["Value"]
            stored = client.getRequestStatus(request_id)  # as stored: a peeked Request computes its own from its ops
            status = stored["Value"] if stored["OK"] else r.Status
            requests[job] = {"RequestID": request_id, "Status": status, "LastUpdate": str(r.LastUpdate),
                             "NotBefore": str(r.NotBefore),
                             "Operations": [{"Type": op.Type, "Status": op.Status, "Error": op.Error} for op in r]}
    lines = []
    for f in held:
        tid, task = int(f["TransformationID"]), int(f["TaskID"])
        job = job_of.get((tid, task))
        lines.append(describe_stuck(tid, task, f["LFN"], job, summary.get(job), requests.get(job)))
    return lines


def _epoch(value: Any) -> float:
    """Epoch seconds of a DIRAC UTC time (a datetime or its text); 0 when unknown."""
    from datetime import UTC, datetime

    if not value:
        return 0.0
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC).timestamp() if when.tzinfo is None else when.timestamp()


def chaos_report(injector: Injector, plan: Any, tids: dict[str, int], campaign_base: str, stores: dict[str, Path],
                 lost_for_good: set[str], bad_site: str = SPARE_SITE) -> dict[str, Any]:
    """Check the end state against DIRAC and the storage, and say what the chaos did and what the agent made of
    it. ``problems`` lists every failed check (empty: the campaign survived)."""
    from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient
    from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient
    from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient

    from CTAODIRAC.Core.Production.submission import output_directories
    from CTAODIRAC.TransformationSystem.Client.FailureManagementClient import FailureManagementClient

    tc, fc = TransformationClient(), FileCatalogClient()
    ids = list(tids.values())
    problems: list[str] = []

    # statuses: every transformation and production Completed
    rows = tc.getTransformations({"TransformationID": ids})["Value"]
    for row in rows:
        if row["Status"] != "Completed":
            problems.append(f"transformation {row['TransformationID']} is {row['Status']}, not Completed")
    for production in plan.productions:
        res = ProductionClient().getProduction(production.name)
        status = res["Value"]["Status"] if res["OK"] else f"unreadable ({res['Message']})"
        if status != "Completed":
            problems.append(f"production {production.name} is {status}, not Completed")

    # the failure agent's decisions
    res = FailureManagementClient().getDecisions({"TransformationID": ids}, 100000)
    decisions = res["Value"] if res["OK"] else []
    if not res["OK"]:
        problems.append(f"cannot read the failure agent's decisions: {res['Message']}")
    given_up: set[tuple[int, str]] = set()
    for d in decisions:
        if d["Kind"] == "give-up" and d["State"] == "Applied":
            for lfn in json.loads(d["FileChanges"] or "{}").get("LFNs", []):
                given_up.add((int(d["TransformationID"]), lfn))
    kinds: dict[str, int] = {}
    for d in decisions:
        kinds[d["Kind"]] = kinds.get(d["Kind"], 0) + 1

    # every input processed or given up, once
    files = tc.getTransformationFiles({"TransformationID": ids})["Value"]
    problems += unaccounted(files, given_up)
    try:
        stuck = where_held(tc, files)
    except Exception as exc:  # noqa: BLE001 - a diagnosis that fails must not hide the checks' result
        stuck = [f"cannot say where the inputs still Assigned are held: {exc!r}"]

    # outputs: registered once, by the task that processed the inputs
    by_step = {d.step: d.path for d in output_directories(plan, campaign_base + "/out")}
    outputs: dict[int, dict[int, list[str]]] = {}
    for step, tid in tids.items():
        for lfn in _walk_catalog(fc, by_step[step]):
            task = int(lfn[len(by_step[step]) + 1:].split("/", 1)[0])
            outputs.setdefault(tid, {}).setdefault(task, []).append(lfn)
    problems += output_problems(files, outputs, set(ids))

    # storage and catalog agree
    everything = _walk_catalog(fc, campaign_base)
    catalog: dict[str, set[str]] = {se: set() for se in stores}
    for start in range(0, len(everything), 500):
        res = fc.getReplicas(everything[start:start + 500])
        if not res["OK"]:
            problems.append(f"getReplicas: {res['Message']}")
            continue
        for lfn, replicas in res["Value"]["Successful"].items():
            for se in replicas:
                catalog.setdefault(se, set()).add(lfn)
    stored = {se: _walk_store(directory, campaign_base) for se, directory in stores.items()}
    problems += storage_problems(catalog, stored, lost_for_good)

    # the injected faults against the agent's classification
    expected = injector.expected()
    killed = {job for f in injector.faults if f.planned.kind == "kill-pilot" for job in f.jobs}
    # a job with a lost input failed for it if its input resolution ran while the input was lost (DIRAC's
    # logging records of the job say when; see failed_for_lost_input)
    losses: dict[str, list[tuple[float, float]]] = {lfn: [(0.0, float("inf"))] for lfn in lost_for_good}
    for f in injector.faults:
        if f.planned.kind == "replica-lost" and f.lost_at is not None:
            for f_lfn in f.lfns:
                back = float("inf") if f.restored_at is None else f.restored_at
                losses.setdefault(f_lfn, []).append((f.lost_at, back))
    monitoring = JobMonitoringClient()
    groups = [f"{tid:08d}" for tid in ids]
    jobs = monitoring.getJobs({"JobGroup": groups})
    sites = monitoring.getJobsSites([int(j) for j in jobs.get("Value", [])]) if jobs.get("Value") else {"Value": {}}
    bad_jobs = {int(j) for j, v in sites.get("Value", {}).items() if v.get("Site") == bad_site}
    decided_jobs = sorted({int(d["JobID"]) for d in decisions if d["JobID"] is not None})
    summaries = monitoring.getJobsSummary(decided_jobs) if decided_jobs else {"OK": True, "Value": {}}
    ended = {int(j): _epoch(v.get("LastUpdateTime")) for j, v in summaries.get("Value", {}).items()}
    decided: dict[int, str] = {}
    why: dict[int, dict[str, Any]] = {}
    histories: dict[int, list[tuple[str, float]]] = {}
    for d in decisions:
        if d["JobID"] is None or d["Kind"] in ("avoid-site", "flush", "complete", "complete-production"):
            continue
        job = int(d["JobID"])
        decided[job] = d["Class"]
        inputs = json.loads(d["FileChanges"] or "{}").get("LFNs", [])
        why[job] = {"rule": d["Rule"], "reason": d["Reason"], "site": d["Site"], "inputs": inputs}
        if job not in histories:  # one read per job, however many decisions it has
            histories[job] = _history(monitoring, job)
        if job in killed:  # killed while its payload ran: its inputs had been read
            continue
        if failed_for_lost_input(inputs, losses, histories[job], ended.get(job, 0.0)):
            expected[job] = "input-data"  # also on a sick worker: the inputs are resolved before the payload runs
        elif job in expected:
            continue
        elif job in bad_jobs:
            expected[job] = BAD_SITE_CLASS
        else:
            expected[job] = "not injected"
    table = confusion(expected, decided)
    misclassified = sum(n for klass, row in table.items() for seen, n in row.items()
                        if klass != "not injected" and seen != klass)  # fmt: skip
    # each job the agent classified otherwise than its fault, with what DIRAC recorded of it (to find out why)
    wrong = [{"job": job, "injected": klass, "decided": decided.get(job, "none"), **why.get(job, {}),
              "at_bad_site": job in bad_jobs, "ended": ended.get(job),
              "losses": {lfn: losses[lfn] for lfn in why.get(job, {}).get("inputs", []) if lfn in losses},
              "history": histories.get(job, [])}
             for job, klass in sorted(expected.items())
             if klass != "not injected" and decided.get(job, "none") != klass]  # fmt: skip
    due, banned = site_bans(decisions, bad_site)
    summary = injector.summary()
    report = {
        "problems": problems,
        "faults": summary["faults"],
        "agent_restarts": summary["agent_restarts"],
        "operator_actions": summary["operator_actions"],
        "confusion": table,
        "misclassified": misclassified,
        "misclassified_jobs": wrong,
        "decisions": kinds,
        "retries": kinds.get("retry", 0),
        "site_bans": kinds.get("avoid-site", 0),
        # transformations failed SITE_BAN_THRESHOLD times at the bad site, and those the agent kept away from it
        "bans_due": due,
        "banned": banned,
        "given_up": sorted(f"{tid}:{lfn}" for tid, lfn in given_up),
        "bad_site_jobs": len(bad_jobs),
        # where each input still Assigned is held (its task's job, the job's request)
        "stuck": stuck,
    }
    lines = ["", "chaos report", "============", "faults (state: count):"]
    for kind, states in sorted(summary["faults"].items()):
        lines.append(f"  {kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    lines.append("agents restarted by the supervisor: " + ", ".join(
        f"{name.split('/')[-1]} {n}" for name, n in sorted(summary["agent_restarts"].items()) if n) or "none")
    lines.append("done as the operator: " + (", ".join(f"{k} {n}" for k, n in summary["operator_actions"].items())
                                             or "nothing"))
    lines.append(f"jobs at the bad site: {len(bad_jobs)}; transformations failed there {SITE_BAN_THRESHOLD} times: "
                 f"{due or 'none'}, kept away from it: {banned or 'none'}")
    lines.append("failed jobs: injected class (rows) against the failure agent's class (columns):")
    lines.append(render_confusion(table) if table else "  (no failed job)")
    for w in wrong:
        lines.append(f"  job {w['job']}: injected {w['injected']}, decided {w['decided']} (rule {w.get('rule')}: "
                     f"{w.get('reason')}; site {w.get('site')})")
        lines += [f"    {minor} at {when:.1f}" for minor, when in w["history"]]
    lines.append("decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    lines.append(f"given up: {len(given_up)} file(s)" + "".join(f"\n  {g}" for g in report["given_up"]))
    lines.append("checks: " + ("all passed" if not problems else f"{len(problems)} problem(s)"))
    lines += [f"  {p}" for p in problems]
    if stuck:
        lines.append("inputs still Assigned, where they are held:")
        lines += [f"  {line}" for line in stuck]
    report["text"] = "\n".join(lines)
    return report
