"""A second DIRAC host on this machine that plays a data-centre VM running this extension's agents.

The VM is installed the way DIRAC documents a server, with DIRAC's own commands; only what DIRACOS's installer and
the data centre would do is done here (docs/operations.md, tested by tests/integration/test_vm_host.py):

1. this extension's **wheel** is built from the checkout and installed, with DIRAC from the same lock file
   (``requirements/lock.txt``), into a fresh environment ``<vm>/versions/<version>-<time>``; ``<vm>/pro`` points at
   it (DIRAC's server layout: an upgrade is a new version directory and the link moved);
2. ``<vm>/bashrc``, what every DIRAC command and runit's ``run`` scripts of the host source first (DIRACOS's installer
   writes one): ``DIRAC_ROOT_PATH``, ``PATH``, the CA directory;
3. the host's own **certificate** (CN = the VM's name: another DN than the local DIRAC's host), signed by the
   instance's CA, and the CA itself under ``<vm>/etc/grid-security`` (a data centre installs its CAs from a package;
   ``dirac-configure`` could fetch them from a BundleDelivery service, which the local DIRAC does not run);
4. the host **registered** in the CS by an administrator: ``dirac-admin-add-host`` (as the production manager,
   CSAdministrator);
5. ``dirac-configure --cfg <vm>/etc/install.cfg`` writes ``<vm>/etc/dirac.cfg`` against the local DIRAC's CS;
6. ``runsvdir <vm>/startup`` (Debian's runit), started unprivileged with a clean environment;
7. ``dirac-install-db InstalledComponentsDB`` and ``dirac-install-component Framework/ComponentMonitoring`` (every
   ``dirac-install-component`` registers what it installed in that service, and fails without it), then
   ``dirac-install-component Transformation/<Agent>`` for each agent: DIRAC writes ``runit/<System>/<Name>/run``
   (and ``log/run``, ``control/t``), links ``startup/<System>_<Name>`` to it and waits until runsv runs it.

DIRAC's ComponentInstaller runs runit's ``runsvstat`` and ``runsvctrl``, which Debian's runit no longer ships
(``sv`` replaced them; DIRACOS ships them): ``<vm>/bin`` holds two small shell scripts of the same name over ``sv``.

Plain Python: DIRAC runs only in the subprocesses, in the VM's own environment.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from CTAODIRAC.Core.errors import CTAODIRACError

from . import certs, mariadb
from .instance import VO, Instance
from .processes import port_open

#: The distributions of the repository: where each one's project files are, relative to the checkout, and which.
DISTRIBUTIONS = {
    "CTAODIRAC": (".", ("setup.cfg", "pyproject.toml", "README.md")),  # the extension a data centre installs
    "CTAODIRAC-devtools": ("devtools", ("pyproject.toml",)),  # the local DIRAC runner and the toy events
}


def build_wheel(checkout: Path, out: Path, distribution: str = "CTAODIRAC") -> Path:
    """The wheel of one of the repository's :data:`DISTRIBUTIONS`, built from a copy of its sources in a temporary
    directory (nothing written in the checkout), without build isolation (the running environment's setuptools)."""
    where, project_files = DISTRIBUTIONS[distribution]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ctaodirac-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in project_files:
            shutil.copy2(checkout / where / name, src / name)
        shutil.copytree(checkout / where / "src", src / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."],
            cwd=src, capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise VMHostError(f"building the wheel of {distribution} failed:\n{proc.stderr[-2000:]}")
    prefix = distribution.lower().replace("-", "_")
    wheels = sorted(out.glob(f"{prefix}-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise VMHostError(f"no wheel of {distribution} in {out}")
    return wheels[-1]


#: What an agent host needs: act on transformations and jobs, read and write the CS when DIRAC's installation
#: commands add the component's section, be trusted by the services it calls on behalf of a shifter.
HOST_PROPERTIES = (
    "TrustedHost", "CSAdministrator", "JobAdministrator", "FullDelegation", "ProxyManagement", "Operator",
    "ProductionManagement", "SiteManager", "ServiceAdministrator",
)  # fmt: skip
#: DIRAC's ComponentMonitoring service on the VM, on its template's port: ``dirac-install-component`` writes the
#: service's URL with the template's port whatever ``-p Port=`` says.
COMPONENT_MONITORING_PORT = 9190
#: The database account DIRAC's ``dirac-install-db`` uses on the VM (``LocalInstallation/Database/RootUser``).
DB_ADMIN = "DIRACAdmin"
#: DIRAC's commands run by the installation act with the host's certificate (``dirac-configure`` leaves
#: ``UseServerCertificate`` out of ``dirac.cfg``: an administrator's commands use the administrator's proxy).
AS_HOST = ("-o", "/DIRAC/Security/UseServerCertificate=yes")
#: The shell every VM command runs in: the VM's bashrc first, as DIRAC's runit ``run`` scripts do.
_IN_VM = 'source "$VM_BASHRC" && exec "$@"'
#: What the VM's commands keep of the caller's environment (everything else is the VM's bashrc).
_KEPT_ENV = ("HOME", "LANG", "LC_ALL", "TERM", "TMPDIR")
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

#: Exits 0 when the TransformationManager answers the host (run on the VM, after its bashrc).
KNOWN_CHECK = (
    "import sys\nfrom DIRAC.Core.Base.Script import Script\nScript.parseCommandLine(ignoreErrors=True)\n"
    "from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient\n"
    "result = TransformationClient().getTransformations({'TransformationID': 0})\n"
    "print(result.get('Message', 'accepted'))\nsys.exit(0 if result['OK'] else 1)\n"
)
#: ``runsvstat DIR...`` as DIRAC's ComponentInstaller parses it (``<dir>: run (pid N) S seconds``), over ``sv``.
RUNSVSTAT = r"""#!/bin/bash
# runsvstat for DIRAC's ComponentInstaller: Debian's runit ships only sv. One line per service directory:
#   <dir>: run (pid N) S seconds | <dir>: down S seconds | <dir>: runsv not running
for dir in "$@"; do
    first=$(sv status "$dir" 2>&1 | head -1)
    first=${first%%;*}
    case "$first" in
        run:*)  echo "$dir: run $(sed -E 's/.*\(pid ([0-9]+)\) ([0-9]+)s.*/(pid \1) \2 seconds/' <<<"$first")" ;;
        down:*) echo "$dir: down $(sed -E 's/.*: ([0-9]+)s.*/\1 seconds/' <<<"$first")" ;;
        *)      echo "$dir: runsv not running" ;;
    esac
done
"""
#: ``runsvctrl MODE DIR...`` (u, d, t, k, ...: runit's control characters) over ``sv``.
RUNSVCTRL = r"""#!/bin/bash
# runsvctrl for DIRAC's ComponentInstaller: Debian's runit ships only sv, which takes the same control characters.
mode=$1
shift
status=0
for dir in "$@"; do
    sv "$mode" "$dir" >/dev/null || status=$?
done
exit $status
"""


class VMHostError(CTAODIRACError, RuntimeError):
    """A step of the VM's installation failed; the message names the step and the end of its output."""


@dataclass(frozen=True)
class VMHost:
    """A DIRAC server host in ``root`` named ``name``, attached to the local DIRAC ``inst``."""

    inst: Instance
    root: Path
    name: str = "ctao-vm1"

    # -- DIRAC's server layout --------------------------------------------------------------------------
    @property
    def bashrc(self) -> Path:
        return self.root / "bashrc"

    @property
    def pro(self) -> Path:
        return self.root / "pro"

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def grid_security(self) -> Path:
        return self.etc / "grid-security"

    @property
    def install_cfg(self) -> Path:
        return self.etc / "install.cfg"

    @property
    def dirac_cfg(self) -> Path:
        return self.etc / "dirac.cfg"

    @property
    def startup(self) -> Path:
        return self.root / "startup"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def runsvdir_pidfile(self) -> Path:
        return self.root / "runsvdir.pid"

    @property
    def dn(self) -> str:
        return certs.host_dn(self.name)

    def service_dir(self, component: str) -> Path:
        """``startup/<System>_<Name>`` of ``System/Name``: what runsv supervises."""
        return self.startup / component.replace("/", "_")

    def log_file(self, component: str) -> Path:
        """The component's current log (svlogd's ``current`` in its ``log/`` directory)."""
        return self.service_dir(component) / "log" / "current"

    # -- running commands on the VM ----------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """A clean environment: the caller's locale and home only; the VM's bashrc does the rest."""
        env = {key: os.environ[key] for key in _KEPT_ENV if key in os.environ}
        env.update({"PATH": _SYSTEM_PATH, "VM_BASHRC": str(self.bashrc)})
        return env

    def run(self, args: list[str], timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command on the VM (after its bashrc), in its root directory."""
        proc = subprocess.run(
            ["bash", "-c", _IN_VM, "vm", *args], env=self.environment(), cwd=self.root, capture_output=True,
            text=True, timeout=timeout,
        )  # fmt: skip
        if check and proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
            raise VMHostError(f"on {self.name}: {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
        return proc

    # -- the installation steps --------------------------------------------------------------------------
    def build_wheel(self, checkout: Path, out: Path) -> Path:
        """This extension's wheel (what a data centre installs: not the development tooling of ``devtools/``)."""
        return build_wheel(checkout, out)

    def install_software(self, wheel: Path, checkout: Path) -> Path:
        """A new version directory: a virtual environment with the wheel and DIRAC from the lock file; ``pro`` is
        moved to it. Returns the version directory."""
        uv = Path(sys.executable).parent / "uv"
        python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        version = wheel.name.split("-")[1]
        target = self.versions / f"v{version}-{int(time.time())}"
        while target.exists():
            time.sleep(1)
            target = self.versions / f"v{version}-{int(time.time())}"
        self.versions.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, SSL_CERT_FILE=os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))
        steps = (
            [str(uv), "venv", "-q", "--python", str(python), str(target)],
            [str(uv), "pip", "install", "--native-tls", "-q", "--python", str(target / "bin" / "python"),
             "-c", str(checkout / "requirements" / "lock.txt"),
             "--override", str(checkout / "requirements" / "overrides.txt"), str(wheel)],
        )  # fmt: skip
        for step in steps:
            proc = subprocess.run(step, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise VMHostError(f"{' '.join(step[:3])} failed:\n{proc.stderr[-2000:]}")
        link = self.pro.with_name("pro.new")
        link.unlink(missing_ok=True)
        link.symlink_to(target.relative_to(self.root))
        link.replace(self.pro)
        return target

    def write_host_files(self) -> None:
        """bashrc, the runsvstat/runsvctrl scripts, the CA and the host's certificate, ``etc/install.cfg``."""
        for path in (self.etc, self.bin, self.startup, self.grid_security):
            path.mkdir(parents=True, exist_ok=True)
        self.bashrc.write_text(bashrc(self.root))
        for name, text in (("runsvstat", RUNSVSTAT), ("runsvctrl", RUNSVCTRL)):
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        cas = self.grid_security / "certificates"
        if not cas.is_dir():
            shutil.copytree(self.inst.ca_dir, cas, symlinks=True)
        if not (self.grid_security / "hostcert.pem").is_file():
            certs.issue_host_certificate(self.inst, self.grid_security, self.name, [socket.gethostname(), "localhost"])
        self.install_cfg.write_text(install_cfg(self.inst, self))

    def grant_database_account(self) -> None:
        """What the database administrator does for a DIRAC server that installs databases: an account that may
        create databases and grant DIRAC's user rights on them (``LocalInstallation/Database/RootUser``), and DIRAC's
        user for any host (DIRAC grants on ``'<User>'@'%'``)."""
        ident = self.inst.identity()
        mariadb._client(  # noqa: SLF001 - same package
            self.inst,
            sql=f"CREATE USER IF NOT EXISTS '{DB_ADMIN}'@'127.0.0.1' IDENTIFIED BY '{ident.mysql_root_password}';"
            f"GRANT ALL PRIVILEGES ON *.* TO '{DB_ADMIN}'@'127.0.0.1' WITH GRANT OPTION;"
            f"CREATE USER IF NOT EXISTS '{ident.mysql_user}'@'%' IDENTIFIED BY '{ident.mysql_password}';",
        )

    def register(self) -> None:
        """``dirac-admin-add-host`` on the local DIRAC, as its production manager (a CS administrator)."""
        from . import control

        args = ["dirac-admin-add-host", "-H", self.name, "-D", self.dn]
        for prop in HOST_PROPERTIES:
            args += ["-P", prop]
        control.run_dirac(self.inst, args, user="prodmgr")

    def configure(self) -> None:
        """``dirac-configure --cfg etc/install.cfg``: writes ``etc/dirac.cfg`` (kept if it is there)."""
        self.run(["dirac-configure", "--cfg", str(self.install_cfg)])
        if not self.dirac_cfg.is_file():
            raise VMHostError(f"dirac-configure wrote no {self.dirac_cfg}")

    def start_runsvdir(self) -> int:
        """``runsvdir -P <vm>/startup`` in its own session with the clean environment; its pid (kept in
        ``runsvdir.pid``). Nothing is started when it runs."""
        pid = self.runsvdir_pid()
        if pid is not None:
            return pid
        self.startup.mkdir(parents=True, exist_ok=True)
        log = open(self.root / "runsvdir.log", "ab")  # noqa: SIM115 - handed to the child
        with log:
            popen = subprocess.Popen(
                ["runsvdir", "-P", str(self.startup), "log: " + "." * 200], env=self.environment(), cwd=self.root,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.runsvdir_pidfile.write_text(f"{popen.pid} {_start_time(popen.pid)}\n")
        return popen.pid

    def runsvdir_pid(self) -> int | None:
        try:
            pid, start = self.runsvdir_pidfile.read_text().split()
        except (OSError, ValueError):
            return None
        return int(pid) if _start_time(int(pid)) == start else None

    def set_cs_options(self, options: dict[str, str]) -> str:
        """Set options in the central CS and commit, with ``dirac-configuration-shell`` (its commands on standard
        input: ``cd SECTION``, ``set NAME VALUE``, ``commit``) run by an administrator: the local DIRAC's production
        manager (CSAdministrator; the shell needs a proxy). Returns the shell's output."""
        for path, value in options.items():
            if not value or " " in value:
                raise VMHostError(f"{path}: dirac-configuration-shell sets one word, not {value!r}")
        return self._cs_shell([("set", path, value) for path, value in options.items()], strict=True)

    def unregister(self, components: tuple[str, ...] = ()) -> str:
        """Take the host out of the central CS again: its Registry entry, the ComponentMonitoring URL the
        installation set, the sections of ``components`` (``System/Name``, agents) the installation added (an
        agent's section of the templates, e.g. ``Transformation/FailureManagementAgent``, is kept)."""
        edits: list[tuple[str, str, str | None]] = [
            ("rmdir", f"/Registry/Hosts/{self.name}", None),
            ("rm", "/Systems/Framework/URLs/ComponentMonitoring", None),
        ]
        from .csconfig import system_templates

        templates = system_templates()
        for component in components:
            system, name = component.split("/")
            if system in templates and templates[system].isSection(f"Agents/{name}"):
                continue  # a template's own section (other hosts and agents use it): never removed
            edits.append(("rmdir", f"/Systems/{system}/Agents/{name}", None))
        return self._cs_shell(edits, strict=False)

    def _cs_shell(self, edits: list[tuple[str, str, str | None]], strict: bool) -> str:
        """Run ``dirac-configuration-shell`` with ``(verb, /path/name, value)`` edits (set, rm, rmdir), then commit.
        ``strict``: a section missing on the way is an error."""
        from . import control

        lines = []
        for verb, path, value in edits:
            section, name = path.rsplit("/", 1)
            parts = [part for part in section.split("/") if part]
            # the shell's cd goes one section down at a time
            lines += [*(f"cd {part}" for part in parts), f"{verb} {name}" + (f" {value}" if value is not None else ""),
                      *(["cd .."] * len(parts))]  # fmt: skip
        script = "\n".join([*lines, "commit", "quit"]) + "\n"
        env = self.inst.environment("prodmgr")
        env["PATH"] = f"{control.venv_bin()}:{env.get('PATH', '')}"
        proc = subprocess.run(["dirac-configuration-shell"], input=script, env=env, cwd=self.inst.root,
                              capture_output=True, text=True, timeout=120)
        failed = "failed" in proc.stdout.lower() or (strict and "no such section" in proc.stdout)
        if proc.returncode != 0 or failed:
            raise VMHostError(f"dirac-configuration-shell failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}"
                              f"{proc.stderr[-2000:]}")
        return proc.stdout

    def wait_until_known(self, timeout: float = 120) -> float:
        """Wait until the services accept the host (they read the CS again every ``RefreshTime`` seconds after
        ``dirac-admin-add-host``; before that they answer "Unauthorized query"): a call to the TransformationManager
        with the host certificate, as the agents make. Returns the seconds waited."""
        t0 = time.monotonic()
        while True:
            proc = self.run(["python", "-c", KNOWN_CHECK, *AS_HOST], check=False, timeout=120)
            if proc.returncode == 0:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
                raise VMHostError(f"the services do not accept {self.name} ({self.dn}) after {timeout:.0f} s:\n{tail}")
            time.sleep(3)

    def install_database(self, db: str) -> None:
        self.run(["dirac-install-db", db, *AS_HOST])

    def install_component(self, component: str, module: str | None = None, options: dict[str, str] | None = None,
                          ) -> None:
        """``dirac-install-component System/Name [-m Module] [-p Opt=Val ...]``: its CS section (only when the CS has
        none: then the template's options, the ``-p`` ones and a service's URL), runit directory and startup link;
        DIRAC waits until runsv runs it. (DIRAC 9.1.22's ``-w``, overwrite, fails: its callback takes no value.)"""
        args = ["dirac-install-component", component, *AS_HOST]
        if module:
            args += ["-m", module]
        for key, value in (options or {}).items():
            args += ["-p", f"{key}={value}"]
        self.run(args)

    def install_service(self, component: str, port: int, timeout: float = 90) -> None:
        """``dirac-install-component`` of a service, run again once the service listens if it failed: DIRAC waits
        until runsv runs the service, not until it listens, then registers it in ComponentMonitoring (the service
        itself, for that one), which a busy machine's new service can refuse for a few seconds."""
        try:
            self.install_component(component)
        except VMHostError as exc:
            if "Connection refused" not in str(exc):
                raise
            deadline = time.monotonic() + timeout
            while not port_open(port):
                if time.monotonic() > deadline:
                    raise VMHostError(f"{component} is not listening on {port} after {timeout:.0f} s: see "
                                      f"{self.log_file(component)}") from exc
                time.sleep(0.5)
            self.install_component(component)  # installed and set up already: registers it

    def install(self, checkout: Path, agents: dict[str, dict[str, str]], say=lambda _msg: None) -> dict[str, float]:
        """Every step, in order; ``agents``: ``{"System/Name": {"Module": ..., option: value}}``. Returns the
        seconds each step took."""
        times: dict[str, float] = {}

        def timed(step: str, func, *args) -> None:
            t0 = time.monotonic()
            func(*args)
            times[step] = round(time.monotonic() - t0, 1)
            say(f"{step}: {times[step]} s")

        self.root.mkdir(parents=True, exist_ok=True)
        timed("wheel and environment", lambda: self.install_software(self.build_wheel(checkout, self.root / "wheels"),
                                                                      checkout))
        timed("host files", self.write_host_files)
        timed("database account", self.grant_database_account)
        timed("dirac-admin-add-host", self.register)
        timed("dirac-configure", self.configure)
        timed("runsvdir", self.start_runsvdir)
        timed("dirac-install-db InstalledComponentsDB", self.install_database, "InstalledComponentsDB")
        if port_open(COMPONENT_MONITORING_PORT):
            raise VMHostError(f"port {COMPONENT_MONITORING_PORT} (Framework/ComponentMonitoring) is taken: another VM host "
                              "on this machine? stop it first")
        # the local DIRAC's CS has the service's section (from the templates) but no URL: dirac-install-component
        # adds a URL only with a section it writes itself
        timed("ComponentMonitoring URL", self.set_cs_options, {"/Systems/Framework/URLs/ComponentMonitoring":
              f"dips://{socket.gethostname()}:{COMPONENT_MONITORING_PORT}/Framework/ComponentMonitoring"})
        timed("dirac-install-component Framework/ComponentMonitoring", self.install_service,
              "Framework/ComponentMonitoring", COMPONENT_MONITORING_PORT)
        timed("services know the host", self.wait_until_known)
        for component, options in agents.items():
            options = dict(options)
            module = options.pop("Module", None)
            timed(f"dirac-install-component {component}", self.install_component, component, module, options)
        return times

    # -- runit ---------------------------------------------------------------------------------------------
    def sv_status(self, component: str) -> tuple[str, int | None]:
        """runit's state of the component (``run``, ``down``, ``fail``...) and its pid when it runs."""
        proc = subprocess.run(["sv", "status", str(self.service_dir(component))], capture_output=True, text=True,
                              env=self.environment())
        first = (proc.stdout or proc.stderr).split(";")[0]
        match = re.match(r"(\w+): [^:]+: (?:\(pid (\d+)\))?", first)
        if not match:
            return "unknown", None
        return match.group(1), int(match.group(2)) if match.group(2) else None

    def restart(self, component: str, timeout: float = 60) -> int:
        """``sv -w T restart startup/<System>_<Name>`` (an agent's ``control/t`` asks it to stop at the end of its
        cycle; runsv starts it again); the new pid."""
        proc = subprocess.run(["sv", "-w", str(int(timeout)), "restart", str(self.service_dir(component))],
                              capture_output=True, text=True, env=self.environment())
        state, pid = self.sv_status(component)
        if proc.returncode != 0 or state != "run" or pid is None:
            raise VMHostError(f"sv restart {component}: {proc.stdout.strip()} {proc.stderr.strip()} (now {state})")
        return pid

    def upgrade(self, checkout: Path) -> Path:
        """A new version: the wheel built again and installed in a new ``versions/`` directory, ``pro`` moved to
        it, every component restarted. Returns the new version directory (the old one is kept to go back)."""
        target = self.install_software(self.build_wheel(checkout, self.root / "wheels"), checkout)
        for service in sorted(self.startup.glob("*")):
            self.restart(service.name.replace("_", "/", 1))
        return target

    def stop(self, timeout: float = 30) -> bool:
        """Stop every component (``sv force-stop``: DIRAC's ``control/t`` asks an agent to stop at the end of its
        cycle, then TERM and KILL after ``timeout``), their runsv (``sv exit``), then runsvdir (HUP). What is left of
        runsvdir's process group (runsv processes that missed it) is sent TERM. True if runsvdir ran."""
        services = sorted(str(p) for p in self.startup.glob("*")) if self.startup.is_dir() else []
        for command in ("force-stop", "exit"):
            if services:
                subprocess.run(["sv", "-w", str(int(timeout)), command, *services], capture_output=True,
                               env=self.environment())
        pid = self.runsvdir_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.runsvdir_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.runsvdir_pid() is not None:
            os.kill(pid, signal.SIGKILL)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = self.runsv_processes()
            for runsv in left:
                try:
                    os.kill(runsv, sig)
                except ProcessLookupError:
                    pass
            if left:
                time.sleep(1)
        self.runsvdir_pidfile.unlink(missing_ok=True)
        return True

    def runsv_processes(self) -> list[int]:
        """Live runsv processes supervising a directory of this host (each runs in its service's directory, in a
        session of its own)."""
        found = []
        root = str(self.root.resolve())
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (entry / "comm").read_text().strip() != "runsv" or _start_time(int(entry.name)) is None:
                    continue
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd == root or cwd.startswith(root + "/"):
                found.append(int(entry.name))
        return found


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def bashrc(root: Path) -> str:
    """What the host's DIRAC commands and runit ``run`` scripts source (DIRACOS's installer writes one)."""
    return f"""# DIRAC server environment of this host: sourced by every run script under runit/ and by the administrator
export DIRAC={root}
export DIRAC_ROOT_PATH={root}
export PATH={root}/pro/bin:{root}/bin:{_SYSTEM_PATH}
export X509_CERT_DIR={root}/etc/grid-security/certificates
# configuration files are given with --cfg, never as positional arguments
export DIRAC_NO_CFG=1
# a system CA bundle would replace DIRAC's CA directory for HTTPS clients
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE DIRACSYSCONFIG X509_USER_PROXY
"""


def install_cfg(inst: Instance, vm: VMHost) -> str:
    """``etc/install.cfg``: what ``dirac-configure`` writes into ``etc/dirac.cfg``, and the ``LocalInstallation``
    section DIRAC's installation commands read (the database server and its root account, for
    ``dirac-install-db``)."""
    ident = inst.identity()
    return f"""LocalInstallation
{{
  ConfigurationServer = {inst.cs_url()}
  VirtualOrganization = {VO}
  UseServerCertificate = yes
  # the CAs come from the data centre (here: copied from the local DIRAC's CA), not from a BundleDelivery service
  SkipCADownload = yes
  SkipVOMSDownload = yes
  Host = {socket.gethostname()}
  Database
  {{
    Host = 127.0.0.1
    Port = {ident.mysql_port}
    User = {ident.mysql_user}
    Password = {ident.mysql_password}
    RootUser = {DB_ADMIN}
    RootPwd = {ident.mysql_root_password}
  }}
}}
DIRAC
{{
  Hostname = {socket.gethostname()}
  Configuration
  {{
    # how often a running component reads the CS again (DIRAC's default: 300 s)
    RefreshTime = 15
  }}
}}
DiracX
{{
  DisabledVOs = {VO}
}}
LocalSite
{{
  DisableAccounting = True
}}
"""
