"""``dirac-ctao-local``: a single-host DIRAC with this extension, for development, tests and demos.

Commands: ``up``, ``down``, ``status``, ``env``, ``agent``, ``jobagent``, ``run``, ``portal``, ``purge``.
See docs/local-dirac.md.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import control
from .instance import USERS, Instance

app = typer.Typer(
    help="A single-host DIRAC 9.1 with CTAODIRAC: MariaDB, certificates, CS and services as local processes.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()

RootOption = Annotated[
    Optional[Path],
    typer.Option("--root", help="Instance directory (default: $CTAODIRAC_LOCAL_ROOT or <checkout>/.local-dirac)."),
]
UserOption = Annotated[str, typer.Option("--user", "-u", help="Whose proxy: prodmgr (production manager) or user.")]


def _instance(root: Path | None) -> Instance:
    return Instance(root)


def _check_user(user: str) -> None:
    names = [u.name for u in USERS]
    if user not in names:
        err.print(f"[red]unknown user {user!r}[/]: one of {', '.join(names)}")
        raise typer.Exit(2)


def _fail(exc: Exception) -> None:
    err.print(f"[red]error:[/] {exc}")
    raise typer.Exit(1)


@app.command()
def up(root: RootOption = None) -> None:
    """Bring the local DIRAC up (idempotent: only what is missing is made or started)."""
    inst = _instance(root)
    try:
        report = control.up(inst, say=lambda msg: err.print(f"  {msg}"))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        _fail(exc)
    err.print(f"[green]local DIRAC up[/] in {report.seconds:.1f} s at {inst.root} (logs: {inst.logs})")
    err.print(f"  for a shell: eval \"$(dirac-ctao-local env{'' if root is None else f' --root {root}'})\"")


@app.command()
def portal(
    root: RootOption = None,
    stop_it: Annotated[bool, typer.Option("--stop", help="Stop the portal instead.")] = False,
) -> None:
    """Serve DIRAC's web portal with the Production Monitor over HTTPS (brings the local DIRAC up first; `down`
    stops it too). See docs/portal.md."""
    from . import portal as web_portal

    inst = _instance(root)
    if stop_it:
        err.print("portal stopped" if control.stop_portal(inst) else "portal was not running")
        return
    try:
        control.up(inst, say=lambda msg: None)
        state = control.start_portal(inst)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        _fail(exc)
    err.print(f"[green]portal {state}[/]: {web_portal.url(inst)} (a browser with a user certificate of "
              f"{inst.root / 'users'}; log: {inst.log(web_portal.KEY)})")


@app.command()
def down(root: RootOption = None) -> None:
    """Stop exactly the processes that ``up`` started (by pid), MariaDB last. State is kept."""
    inst = _instance(root)
    stopped = control.down(inst, say=lambda msg: err.print(f"  {msg}"))
    err.print(f"stopped {len(stopped)} process(es)")


@app.command()
def purge(root: RootOption = None, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Stop everything and delete the instance directory (certificates, databases, files, logs)."""
    inst = _instance(root)
    if not yes and not typer.confirm(f"delete {inst.root} and everything in it?"):
        raise typer.Exit(1)
    control.down(inst)
    shutil.rmtree(inst.root, ignore_errors=True)
    err.print(f"removed {inst.root}")


@app.command()
def status(
    root: RootOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show each process of the instance: pid, port, listening. Exit 1 unless everything is up."""
    inst = _instance(root)
    rows = control.status(inst)
    ok = control.is_up(inst)
    if as_json:
        print(json.dumps({"root": str(inst.root), "up": ok, "components": [r.__dict__ for r in rows]}, indent=2))
    else:
        table = Table(title=f"local DIRAC at {inst.root}")
        for col in ("component", "pid", "port", "state", "log"):
            table.add_column(col)
        for r in rows:
            if r.pid is None:
                state = f"not started (only by `{r.on_demand}`)" if r.on_demand else "stopped"
            else:
                state = "[green]up[/]" if r.listening is not False else "[yellow]starting[/]"
            table.add_row(r.name, str(r.pid or "-"), str(r.port or "-"), state, r.log)
        out.print(table)
    raise typer.Exit(0 if ok else 1)


@app.command()
def env(root: RootOption = None, user: UserOption = "prodmgr") -> None:
    """Print the shell lines that point a shell at the instance: eval "$(dirac-ctao-local env)"."""
    _check_user(user)
    inst = _instance(root)
    environment = inst.environment(user, base={})
    print(f"export PATH={shlex.quote(str(control.venv_bin()))}:\"$PATH\"")
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "DIRACSYSCONFIG"):
        print(f"unset {var}")
    for key, value in sorted(environment.items()):
        print(f"export {key}={shlex.quote(value)}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context, root: RootOption = None, user: UserOption = "prodmgr") -> None:
    """Run a command in the instance's environment: dirac-ctao-local run [-u user] -- CMD ARGS..."""
    _check_user(user)
    if not ctx.args:
        err.print("[red]no command given[/]: dirac-ctao-local run -- CMD ARGS...")
        raise typer.Exit(2)
    inst = _instance(root)
    environment = inst.environment(user)
    environment["PATH"] = f"{control.venv_bin()}:{environment.get('PATH', '')}"
    raise typer.Exit(subprocess.call(ctx.args, env=environment))


def _echo(line: bytes) -> None:
    sys.stdout.buffer.write(line)
    sys.stdout.flush()


OptionsOption = Annotated[
    Optional[list[str]], typer.Option("--option", "-o", help="Agent option Name=Value (repeatable).")
]


@app.command()
def agent(
    name: Annotated[str, typer.Argument(help="System/Agent, e.g. Transformation/InputDataAgent.")],
    root: RootOption = None,
    cycles: Annotated[int, typer.Option(help="Number of cycles to run.")] = 1,
    option: OptionsOption = None,
) -> None:
    """Run a DIRAC agent (DIRAC's or this extension's) for some cycles with the host certificate."""
    if "/" not in name:
        err.print(f"[red]agent must be System/Name[/], e.g. Transformation/InputDataAgent (got {name!r})")
        raise typer.Exit(2)
    raise typer.Exit(control.run_agent(_instance(root), name, cycles, option or [], echo=_echo).returncode)


@app.command()
def jobagent(
    root: RootOption = None,
    cycles: Annotated[int, typer.Option(help="Cycles; the InProcess CE runs at most one job per cycle.")] = 1,
    option: OptionsOption = None,
) -> None:
    """Run a JobAgent that executes jobs on this machine (InProcess CE), as a pilot would."""
    raise typer.Exit(control.run_job_agent(_instance(root), cycles, option or [], echo=_echo).returncode)


@app.command()
def campaign(
    root: RootOption = None,
    showers: Annotated[int, typer.Option(help="Showers thrown per toy DL0 run.")] = 300,
    timeout: Annotated[int, typer.Option(help="Give up after this many seconds.")] = 3600,
    pilots: Annotated[int, typer.Option(help="JobAgents running jobs side by side.")] = 2,
    chaos: Annotated[bool, typer.Option("--chaos", help="Inject faults while it runs (docs/chaos.md).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the chaos plan.")] = 1,
    short: Annotated[bool, typer.Option("--short", help="With --chaos: fewer faults, sooner.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the JSON summary on stdout.")] = False,
    cwl: Annotated[bool, typer.Option("--cwl", help="Its CWL twin, examples/cwl/ctapipe_campaign.cwl.")] = False,
) -> None:
    """Run examples/ctapipe_campaign.yaml end to end here, from toy DL0 to DL2 (needs .venv-ctapipe); with
    --chaos, while faults are injected, then check that nothing was lost or done twice. Ends with tables, the JSON
    summary in a file (on stdout too with --json) and a report with pictures (docs/campaign-report.md)."""
    inst = _instance(root)
    ctapipe_env = control.venv_bin().parent.parent / ".venv-ctapipe"
    if not (ctapipe_env / "bin" / "ctapipe-process").exists():
        err.print(f"[red]no ctapipe environment at {ctapipe_env}[/]: make install makes it when a Python 3.12 exists")
        raise typer.Exit(1)
    try:
        control.up(inst, say=lambda msg: None)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        _fail(exc)
    environment = inst.environment("prodmgr")
    environment["PATH"] = f"{control.venv_bin()}:{environment.get('PATH', '')}"
    cmd = [sys.executable, "-m", "CTAODIRAC.LocalDIRAC.campaign", "--root", str(inst.root), "--ctapipe-env",
           str(ctapipe_env), "--showers", str(showers), "--timeout", str(timeout), "--pilots", str(pilots)]
    if chaos:
        cmd += ["--chaos", "--seed", str(seed), *(["--short"] if short else [])]
    if as_json:
        cmd.append("--json")
    if cwl:
        if chaos:
            err.print("[red]--cwl runs without --chaos[/]")
            raise typer.Exit(2)
        cmd.append("--cwl")
    # the campaign replaces this process: a signal sent to it (Ctrl-C, kill, timeout) reaches the campaign, which
    # then stops the agents and pilots it started
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(inst.root)
    os.execve(cmd[0], cmd, environment)


vm_app = typer.Typer(
    help="A second DIRAC host with this extension's agents under runit, installed with DIRAC's own commands against "
    "the local DIRAC (a data-centre VM; docs/operations.md).",
    no_args_is_help=True,
)
app.add_typer(vm_app, name="vm-host")
VMDirOption = Annotated[Optional[Path], typer.Option("--dir", help="The VM's directory (default: <root>/vm-host).")]
VMNameOption = Annotated[str, typer.Option("--name", help="The VM's host name (its certificate's CN).")]


def _vm(root: Path | None, directory: Path | None, name: str):
    from .vmhost import VMHost

    inst = _instance(root)
    return VMHost(inst, (directory or inst.root / "vm-host").resolve(), name)


@vm_app.command("install")
def vm_install(
    root: RootOption = None,
    directory: VMDirOption = None,
    name: VMNameOption = "ctao-vm1",
    agent: Annotated[str, typer.Option(help="System/Name of the agent; --module to run a module under that name.")] = (
        "Transformation/FailureManagementAgent"
    ),
    module: Annotated[Optional[str], typer.Option(help="The agent's module (dirac-install-component -m).")] = None,
    option: Annotated[
        Optional[list[str]], typer.Option("--option", "-p", help="Option=Value of a new agent section (repeatable).")
    ] = None,
) -> None:
    """Install the VM: wheel, environment, certificate, dirac-configure, runsvdir, ComponentMonitoring, the agent."""
    from .vmhost import VMHostError

    vm = _vm(root, directory, name)
    options = dict(item.split("=", 1) for item in option or [])
    if module:
        options["Module"] = module
    try:
        control.up(vm.inst, say=lambda msg: None)
        vm.install(control.venv_bin().parent.parent, {agent: options}, say=lambda msg: err.print(f"  {msg}"))
    except (VMHostError, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        _fail(exc)
    err.print(f"[green]VM host {name} up[/] at {vm.root}; its agent's log: {vm.log_file(agent)}")


@vm_app.command("status")
def vm_status(root: RootOption = None, directory: VMDirOption = None, name: VMNameOption = "ctao-vm1") -> None:
    """runit's status of each component of the VM (sv status); exit 1 unless runsvdir runs."""
    vm = _vm(root, directory, name)
    for service in sorted(vm.startup.glob("*")) if vm.startup.is_dir() else []:
        state, pid = vm.sv_status(service.name.replace("_", "/", 1))
        out.print(f"{service.name}: {state}" + (f" (pid {pid})" if pid else "") + f"  log: {service / 'log' / 'current'}")
    raise typer.Exit(0 if vm.runsvdir_pid() else 1)


@vm_app.command("stop")
def vm_stop(
    root: RootOption = None,
    directory: VMDirOption = None,
    name: VMNameOption = "ctao-vm1",
    unregister: Annotated[bool, typer.Option(help="Also remove the host and its agents' sections from the CS.")] = False,
) -> None:
    """Stop the VM's components and its runsvdir (state kept)."""
    vm = _vm(root, directory, name)
    err.print("VM host stopped" if vm.stop() else "VM host was not running")
    if unregister:
        agents = tuple(p.name.replace("_", "/", 1) for p in vm.startup.glob("*") if not p.name.startswith("Framework_"))
        vm.unregister(agents)
        err.print(f"{name} removed from the CS (and the sections its installation added)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
