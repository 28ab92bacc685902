"""Bring a local DIRAC instance up and down, and run DIRAC commands against it.

``up`` is idempotent: each step checks what is there and does only what is missing, so running it
on a ready instance costs a few status checks. Plain Python: DIRAC runs only in the subprocesses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import certs, csconfig, loopback, mariadb, opensearch, portal
from .instance import CONFIGURATION_SERVER, SELF_CREATING_DATABASES, USERS, Component, Instance
from .processes import Process, port_open, read_pid, start_process, stop, wait_for_port

Say = Callable[[str], None]


def venv_bin() -> Path:
    """The directory of the running interpreter, where DIRAC's commands are installed."""
    return Path(sys.executable).parent


def dirac_command(name: str) -> str:
    path = venv_bin() / name
    if not path.exists():
        raise RuntimeError(f"{name} not found next to {sys.executable}: is DIRAC installed here (make install)?")
    return str(path)


def run_dirac(inst: Instance, args: list[str], user: str | None, check: bool = True, timeout: float = 300,
              extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a DIRAC command in the instance's environment (``user`` None: with the host certificate)."""
    env = inst.environment(user)
    env["PATH"] = f"{venv_bin()}:{env.get('PATH', '')}"
    env.update(extra_env or {})
    if user is None:
        args = [*args, "-o", "/DIRAC/Security/UseServerCertificate=yes"]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=inst.root)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(Path(args[0]).name.split() + args[1:])} failed (exit {proc.returncode}):\n{tail}")
    return proc


def process_members(comp: Component) -> list[Component]:
    """The components that run in ``comp``'s process: its group's, or itself."""
    if not comp.group:
        return [comp]
    return [c for c in csconfig.all_components() if c.group == comp.group]


def _component_cmd(inst: Instance, comp: Component) -> list[str]:
    if comp.kind == "executor":
        return [dirac_command("dirac-executor"), comp.full_name]
    if comp.group:
        return [sys.executable, "-m", "CTAODIRAC.LocalDIRAC.service_group",
                *(c.full_name for c in process_members(comp))]  # fmt: skip
    cmd = [dirac_command("dirac-service"), comp.full_name]
    if comp is CONFIGURATION_SERVER:
        cmd += ["--cfg", str(inst.master_cfg)]
    return cmd


def _start_component(inst: Instance, comp: Component) -> str:
    """Start the process of ``comp`` (with its whole group) unless it runs: "running" or "started"."""
    proc = Process(inst, comp.key)
    if read_pid(proc) is not None:
        return "running"
    members = process_members(comp)
    if any(c.full_name in opensearch.CLIENT_SERVICES for c in members):
        opensearch.wait_ready(inst)
    ports = {member.full_name: port for member in members if (port := inst.port(member)) is not None}
    for name, port in ports.items():
        if port_open(port):
            raise RuntimeError(
                f"port {port} for {name} is taken by another process (another local DIRAC? give this "
                "one another CTAODIRAC_LOCAL_PORT_OFFSET when you make it)"
            )
    start_process(inst, comp.key, _component_cmd(inst, comp), inst.environment(user=None))
    for port in ports.values():
        wait_for_port(proc, port)
    if not ports:
        time.sleep(1.0)
        if read_pid(proc) is None:
            raise RuntimeError(f"{comp.key} exited while starting: see {inst.log(comp.key)}")
    return "started"


def _start_processes(inst: Instance, comps: list[Component],
                     after: dict[str, list[Component]] | None = None) -> list[tuple[Component, str]]:
    """Start the processes of ``comps`` in parallel, each process once: ``(component, state)`` for each.
    ``after``: ``{key: components}`` started, in order, as soon as the process ``key`` answers (the others go on)."""
    first: dict[str, Component] = {}
    for comp in comps:
        first.setdefault(comp.key, comp)
    after = after or {}
    states: dict[str, str] = {}

    def start(comp: Component) -> None:
        states[comp.key] = _start_component(inst, comp)
        for then in after.get(comp.key, []):
            states[then.key] = _start_component(inst, then)

    with ThreadPoolExecutor(max_workers=max(1, len(first))) as pool:
        list(pool.map(start, first.values()))
    chained = [c for key in first for c in after.get(key, [])]
    return [(comp, states[comp.key]) for comp in [*comps, *chained]]


def start_component(inst: Instance, full_name: str) -> str:
    """Start the component ``System/Name`` of the instance if it is not running ("running" or "started")."""
    comp = next(c for c in csconfig.all_components() if c.full_name == full_name)
    return _start_component(inst, comp)


def start_on_demand(inst: Instance, command: str) -> dict[str, str]:
    """Start the components only ``command`` needs (``Component.on_demand``), in parallel: name -> state."""
    comps = [c for c in csconfig.all_components() if c.on_demand == command]
    return {comp.full_name: state for comp, state in _start_processes(inst, comps)}


def start_portal(inst: Instance) -> str:
    """The web portal and the services only it uses, on an instance that is up: "running" or "started"."""
    start_on_demand(inst, "portal")
    return portal.start(inst)


def stop_portal(inst: Instance) -> bool:
    """Stop the portal and the services only it uses; True if the portal ran."""
    ran = portal.stop_portal(inst)
    for comp in csconfig.all_components():
        if comp.on_demand == "portal":
            stop(Process(inst, comp.key))
    return ran


def _tables_missing(inst: Instance) -> bool:
    counts = mariadb._client(  # noqa: SLF001 - same package
        inst, sql="SELECT table_schema, COUNT(*) FROM information_schema.tables GROUP BY table_schema"
    )
    have = {line.split("\t")[0] for line in counts.splitlines() if line.strip()}
    return any(db not in have for _, db in SELF_CREATING_DATABASES)


def _proxy_valid(path: Path, seconds: int = 12 * 3600) -> bool:
    if not path.is_file():
        return False
    proc = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-checkend", str(seconds)],
                          capture_output=True)
    return proc.returncode == 0


def link_extension_plotters() -> list[str]:
    """Make the Monitoring plotters of editable-installed extensions visible to DIRAC's Monitoring service.

    The service finds the plotter of a monitoring type (``<Ext>/MonitoringSystem/private/Plotters/<Type>Plotter.py``)
    with DIRAC's ``ObjectLoader.loadObjects``, which looks for each extension in the directory DIRAC itself is
    installed in (its docstring: "this does not work for editable install"). An extension installed from its wheel
    is there; one installed in editable mode (``make install``: ``pip install -e``) is not, and the service answers
    "There's no reporter registered for type ...". For such an extension, a symbolic link to its plotters
    directory is made at that place (the directories above it hold no ``__init__.py``: ``import`` still finds the
    extension where it is installed). Returns the links made."""
    from importlib.util import find_spec

    dirac = find_spec("DIRAC")
    if dirac is None or not dirac.submodule_search_locations:
        return []
    site = Path(list(dirac.submodule_search_locations)[0]).parent
    made = []
    for package in csconfig.extension_packages():
        spec = find_spec(package)
        if package == "DIRAC" or spec is None or not spec.submodule_search_locations:
            continue
        source = Path(list(spec.submodule_search_locations)[0]) / "MonitoringSystem" / "private" / "Plotters"
        link = site / package / "MonitoringSystem" / "private" / "Plotters"
        if not source.is_dir() or (site / package).resolve() == source.parents[2].resolve() or link.exists():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source, target_is_directory=True)
        made.append(str(link))
    return made


@dataclass
class UpReport:
    steps: list[tuple[str, str]]
    seconds: float


def up(inst: Instance, say: Say = lambda _msg: None) -> UpReport:
    """Bring everything up; do only what is missing."""
    t0 = time.monotonic()
    steps: list[tuple[str, str]] = []

    def step(name: str, what: str) -> None:
        steps.append((name, what))
        say(f"{name}: {what}")

    ident = inst.identity(create=True)
    for sub in (inst.logs, inst.run, inst.storage, inst.sandboxes, inst.root / "work", inst.root / "control"):
        sub.mkdir(parents=True, exist_ok=True)
    made = certs.ensure_certificates(inst, ident.hostname)
    step("certificates", ", ".join(made) if made else "present")
    # DISET calls between the instance's processes without the 40-ms wait for delayed TCP acknowledgements
    # (loopback.py); CTAODIRAC_LOCAL_QUICKACK=0 leaves the routes as they are
    if os.environ.get("CTAODIRAC_LOCAL_QUICKACK", "1") != "0":
        step("immediate TCP acknowledgements on local routes", loopback.ensure_quickack())

    master_running = read_pid(Process(inst, CONFIGURATION_SERVER.key)) is not None
    csconfig.write_configuration(inst, ident, central=not master_running)
    step("configuration", f"{inst.etc}" + ("" if not master_running else " (CS kept: master running)"))
    linked = link_extension_plotters()
    if linked:
        step("Monitoring plotters", "linked " + ", ".join(linked))
    # started first and waited for only by the services that connect to it (opensearch.CLIENT_SERVICES)
    step("OpenSearch", opensearch.start(inst) + f" on 127.0.0.1:{opensearch.http_port(inst)}")

    step("MariaDB", mariadb.ensure_running(inst, ident) + f" on 127.0.0.1:{ident.mysql_port}")
    created = mariadb.ensure_databases(inst, ident, {db: sql for _, db, sql in csconfig.extension_databases()})
    step("databases", f"created {', '.join(created)}" if created else "present")

    step(CONFIGURATION_SERVER.full_name, _start_component(inst, CONFIGURATION_SERVER))
    if _tables_missing(inst):
        run_dirac(inst, [sys.executable, "-m", "CTAODIRAC.LocalDIRAC.dirac_tables"], user=None)
        step("DB tables", "created")

    # Every process in parallel; the JobManager (which connects to the OptimizationMind when it starts) and the
    # executors (which live on connections to it) as soon as the OptimizationMind answers.
    components = [c for c in csconfig.all_components() if not c.on_demand]
    mind = next(c for c in components if c.full_name == "WorkloadManagement/OptimizationMind")
    later = [c for c in components if c.name in ("JobManager", "Optimizers")]
    first = [c for c in components if c is not CONFIGURATION_SERVER and c not in later]
    for comp, result in _start_processes(inst, first, after={mind.key: later}):
        step(comp.full_name, result + (f" (process {comp.key})" if comp.group else ""))

    # The DIRAC commands that remain, at once (each is a Python process importing DIRAC): the sites and storage
    # elements synchronised into the ResourceStatus system (again when the configuration changed), the proxies.
    rss_stamp = inst.run / "rss-synced"
    rss_signature = " ".join(csconfig.rss_elements())
    rss_sync = dirac_command("dirac-rss-sync")
    commands: list[tuple[list[str], str | None]] = []
    if not rss_stamp.exists() or rss_stamp.read_text().strip() != rss_signature:
        # `--init` of sites calls WMSAdministrator.getAllSiteMaskStatus, which DIRAC 9.1 no longer has: sites
        # are synchronised with the default status (Active); storage elements are initialised from the CS.
        commands += [([rss_sync, "--element", "Site", "--defaultStatus", "Active"], None),
                     ([rss_sync, "--element", "Resource", "--init", "--defaultStatus", "Active"], None)]
    proxies = [user for user in USERS if not _proxy_valid(inst.proxy(user.name))]
    for user in proxies:
        udir = inst.user_dir(user.name)
        commands.append(([dirac_command("dirac-proxy-init"), "-g", user.group, "-C", str(udir / "usercert.pem"),
                          "-K", str(udir / "userkey.pem"), "-u", str(inst.proxy(user.name))], user.name))
    with ThreadPoolExecutor(max_workers=max(1, len(commands))) as pool:
        list(pool.map(lambda command: run_dirac(inst, command[0], user=command[1]), commands))
    waited = opensearch.wait_ready(inst)
    step("OpenSearch", "answering" + (f" (waited {waited:.1f} s for it)" if waited > 0.5 else ""))
    if len(commands) > len(proxies):
        rss_stamp.write_text(rss_signature + "\n")
        step("ResourceStatus", "sites and storage elements synchronised and Active")
    for user in proxies:
        step(f"proxy {user.name}", f"group {user.group}, uploaded to the ProxyManager")
    return UpReport(steps, time.monotonic() - t0)


@dataclass(frozen=True)
class AgentRun:
    returncode: int
    output: str


def _agent_process(inst: Instance, agent: str, cycles: int, polling: int, options: list[str] | None,
                   extra_args: list[str] | None, root: Path | None) -> tuple[list[str], dict[str, str], Path]:
    """Command line, environment and working directory of ``dirac-agent System/Agent`` with the host
    certificate; ``root``: another DIRAC root directory (a pilot's, see :func:`pilot_root`)."""
    args = [dirac_command("dirac-agent"), agent, *(extra_args or []), "-o", f"MaxCycles={cycles}",
            "-o", f"PollingTime={polling}"]  # fmt: skip
    for opt in options or []:
        args += ["-o", opt]
    env = inst.environment(user=None)
    env["PATH"] = f"{venv_bin()}:{env.get('PATH', '')}"
    if root is not None:
        env["DIRAC_ROOT_PATH"] = str(root)
    inst.logs.mkdir(parents=True, exist_ok=True)
    return args, env, root or inst.root


def _log_start(log: Any, args: list[str]) -> None:
    log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(args)}\n".encode())
    log.flush()


#: ``PollingTime`` of an agent run for a few cycles. DIRAC's agent scheduler runs cycles at least 10 s apart and
#: the first one ``10 - min(PollingTime, 9)`` s after start: 9 s with a polling time of 1, 1 s with 10.
RUN_POLLING = 10


def run_agent(inst: Instance, agent: str, cycles: int = 1, options: list[str] | None = None,
              extra_args: list[str] | None = None, echo: Callable[[bytes], None] | None = None,
              root: Path | None = None, until: str | None = None, polling: int = RUN_POLLING) -> AgentRun:
    """Run ``dirac-agent System/Agent`` for ``cycles`` cycles with the host certificate; its output goes
    to ``logs/agent_<System>_<Agent>.log`` (appended) and, line by line, to ``echo``. ``root``: run it from
    another DIRAC root directory (a pilot's, see :func:`pilot_root`). ``until``: stop the agent (and the
    processes it started) as soon as it logs a line containing this text; the return code is then 0.
    ``polling``: its ``PollingTime`` (see :data:`RUN_POLLING`)."""
    args, env, cwd = _agent_process(inst, agent, cycles, polling, options, extra_args, root)
    lines: list[bytes] = []
    marker = until.encode() if until is not None else None
    with open(inst.log("agent_" + agent.replace("/", "_")), "ab") as log:
        _log_start(log, args)
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=marker is not None)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            if echo is not None:
                echo(line)
            if marker is not None and marker in line:
                stop_agent(proc)
                log.write(f"=== stopped once it logged {until!r}\n".encode())
                proc.stdout.close()
                return AgentRun(0, b"".join(lines).decode(errors="replace"))
    return AgentRun(proc.wait(), b"".join(lines).decode(errors="replace"))


def start_agent(inst: Instance, agent: str, polling: int, options: list[str] | None = None,
                extra_args: list[str] | None = None, cycles: int = 1_000_000, root: Path | None = None,
                log_name: str | None = None, prefix: list[str] | None = None) -> subprocess.Popen:
    """Start ``dirac-agent System/Agent`` in the background, polling every ``polling`` seconds, as a data
    centre runs it; its output is appended to ``logs/<log_name or agent_<System>_<Agent>>.log``. ``root``: run
    it from another DIRAC root directory (a pilot's, see :func:`start_pilot`). ``prefix``: a command the agent's
    command line is given to (e.g. ``unshare`` for a worker whose software area is not mounted). Stop it with
    ``stop_agent``."""
    args, env, cwd = _agent_process(inst, agent, cycles, polling, options, extra_args, root)
    args = [*(prefix or []), *args]
    with open(inst.log(log_name or "agent_" + agent.replace("/", "_")), "ab") as log:
        _log_start(log, args)
        return subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def pilot_root(inst: Instance, index: int | str, overrides: dict[str, Any] | None = None) -> Path:
    """The directory of local pilot ``index``: its own ``etc/dirac.cfg`` (the instance's plus the worker-node
    configuration, plus ``overrides``, nested sections as dicts), the instance's certificates, and its jobs'
    working directories. A JobAgent rewrites its root's ``etc/dirac.cfg`` (``/LocalSite/CPUTimeLeft``) after
    each job; two JobAgents sharing one root race on that file and can leave it without the configuration
    servers."""
    from diraccfg import CFG

    root = inst.root / "pilots" / str(index)
    (root / "etc").mkdir(parents=True, exist_ok=True)
    certificates = root / "etc" / "grid-security"
    if not certificates.exists():
        certificates.symlink_to(inst.root / "etc" / "grid-security")
    cfg = CFG().loadFromFile(str(inst.dirac_cfg)).mergeWith(CFG().loadFromFile(str(inst.worker_cfg)))
    if overrides:
        cfg = cfg.mergeWith(csconfig.to_cfg(overrides))
    cfg.writeToFile(str(root / "etc" / "dirac.cfg"))
    return root


#: Every local JobAgent's: no pause after handing a job to its computing element (DIRAC's default waits 10 s,
#: for batch systems; the InProcess CE has run the job when it returns).
JOB_AGENT_OPTIONS = ("SubmissionDelay=0",)


#: ``PollingTime`` of a local pilot. A JobAgent that found no job sleeps ``2 x PollingTime x (failed matches + 1)``
#: seconds before its next cycle: with 1, an idle pilot asks again every ~10 s (DIRAC's shortest agent cycle)
#: for its first 4 tries instead of backing off to 20 s, and takes a campaign's next step sooner.
PILOT_POLLING = 1


def start_pilot(inst: Instance, index: int | str, cycles: int = 50, options: list[str] | None = None,
                overrides: dict[str, Any] | None = None, prefix: list[str] | None = None,
                log_name: str | None = None) -> subprocess.Popen:
    """A JobAgent running jobs here as a pilot would, from its own :func:`pilot_root` (with ``overrides`` of its
    worker-node configuration); it goes on after a failed payload and stops after 5 cycles without a job or
    ``cycles`` cycles. ``prefix``: see :func:`start_agent`."""
    return start_agent(
        inst, "WorkloadManagement/JobAgent", PILOT_POLLING,
        ["StopAfterFailedMatches=5", "StopOnApplicationFailure=False", *JOB_AGENT_OPTIONS, *(options or [])],
        cycles=cycles, root=pilot_root(inst, index, overrides), prefix=prefix,
        log_name=log_name or f"agent_WorkloadManagement_JobAgent_pilot{index}",
    )  # fmt: skip


def stop_agent(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop an agent ``start_agent`` started (SIGTERM to its process group, SIGKILL if it lingers)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_job_agent(inst: Instance, cycles: int = 1, options: list[str] | None = None,
                  echo: Callable[[bytes], None] | None = None) -> AgentRun:
    """Run a JobAgent with the worker-node configuration a pilot would write, from the directory of pilot 0
    (:func:`pilot_root`: a JobAgent rewrites its root's configuration file): it matches jobs for the local site
    and runs them here with the InProcess computing element (one job per cycle). Its polling time stays 1 s:
    a JobAgent also sleeps twice its polling time after a failed match and once per check of running jobs."""
    return run_agent(inst, "WorkloadManagement/JobAgent", cycles, [*JOB_AGENT_OPTIONS, *(options or [])], None, echo,
                     root=pilot_root(inst, 0), polling=1)


def down(inst: Instance, say: Say = lambda _msg: None) -> list[str]:
    """Stop every process ``up`` started (by pid file), DIRAC first, MariaDB last."""
    stopped = []
    if stop(Process(inst, portal.KEY)):  # the web portal (dirac-ctao-local portal), if it runs
        stopped.append("WebApp portal")
    dirac = {c.key: c for c in reversed(csconfig.all_components()) if c is not CONFIGURATION_SERVER}
    # a grouped service started alone by an earlier version of this tool (its own pid file)
    dirac.update({f"{c.system}_{c.name}": replace(c, group="") for c in csconfig.all_components() if c.group})
    with ThreadPoolExecutor(max_workers=len(dirac)) as pool:
        for comp, was in zip(dirac.values(), pool.map(lambda c: stop(Process(inst, c.key)), dirac.values())):
            if was:
                stopped += [c.full_name for c in process_members(comp)]
    for key, name in ((opensearch.KEY, "OpenSearch"), (CONFIGURATION_SERVER.key, CONFIGURATION_SERVER.full_name),
                      (mariadb.MYSQL_KEY, "MariaDB")):
        if stop(Process(inst, key)):
            stopped.append(name)
    for name in stopped:
        say(f"stopped {name}")
    return stopped


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    port: int | None
    listening: bool | None
    log: str
    #: the command that starts this component (``Component.on_demand``); empty: ``up`` does
    on_demand: str = ""


def status(inst: Instance) -> list[ComponentStatus]:
    rows = []
    ident = inst.identity() if inst.identity_file.is_file() else None
    mysql_port = ident.mysql_port if ident else None
    rows.append(ComponentStatus("MariaDB", read_pid(Process(inst, mariadb.MYSQL_KEY)), mysql_port,
                                port_open(mysql_port) if mysql_port else None, str(inst.log(mariadb.MYSQL_KEY))))
    search_port = opensearch.http_port(inst) if ident else opensearch.HTTP_PORT
    rows.append(ComponentStatus("OpenSearch", read_pid(Process(inst, opensearch.KEY)), search_port,
                                port_open(search_port), str(inst.log(opensearch.KEY))))
    for comp in csconfig.all_components():
        pid = read_pid(Process(inst, comp.key))
        port = inst.port(comp) if ident else comp.port
        listening = port_open(port) if port else None
        rows.append(ComponentStatus(comp.full_name, pid, port, listening, str(inst.log(comp.key)), comp.on_demand))
    return rows


def is_up(inst: Instance) -> bool:
    """Everything ``up`` starts runs and listens (components started on demand count only while they run)."""
    rows = [r for r in status(inst) if not (r.on_demand and r.pid is None)]
    return all(r.pid is not None and r.listening is not False for r in rows) and all(
        _proxy_valid(inst.proxy(u.name), 3600) for u in USERS
    )
