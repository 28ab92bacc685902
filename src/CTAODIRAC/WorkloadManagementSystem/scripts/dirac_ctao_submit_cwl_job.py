"""Submit a CWL CommandLineTool or Workflow and its inputs file as one DIRAC job (dry run unless --submit).

By default TOOL and INPUTS are read, validated (cwltool, the dirac: hints, the inputs) and the job is shown,
offline (no DIRAC configuration or proxy needed). With --submit the job is sent to DIRAC's WMS with the CWL
document packed (cwltool --pack: one file holding every tool it runs); on the worker, dirac-ctao-cwl-run runs
it with cwltool and registers its catalog outputs (docs/cwl.md). A Workflow runs whole in one job: its
dirac:Production and dirac:Step hints are ignored (dirac-ctao-submit-production makes productions of it).

Exit codes: 0 success; 1 DIRAC error; 2 bad input or usage (nothing sent); 130 interrupted.

Examples: `dirac-ctao-submit-cwl-job tool.cwl inputs.yaml`, `... --json`, `... --submit`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from CTAODIRAC.Core.CWL.job import CWLJobDescription
from CTAODIRAC.Core.CWL.jobside import DiracJobSettings, job_settings
from CTAODIRAC.Core.CWL.loader import load_cwl_job
from CTAODIRAC.Core.CWL.pack import write_packed
from CTAODIRAC.Core.Production.errors import ProductionSpecError
from CTAODIRAC.Utilities.cli import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    command_app,
    error_console,
    failures_reported,
    output_console,
    report_spec_errors,
)

__all__ = ["app", "main"]

PROG = "dirac-ctao-submit-cwl-job"

app = command_app()


def _values(items: list[str]) -> str:
    return "\n".join(items) if items else "-"


def render_job(desc: CWLJobDescription, settings: DiracJobSettings, console: Console) -> None:
    """The job as a table: what goes where, and the DIRAC job settings."""
    table = Table(title=f"DIRAC job of {desc.cwl}" + (f" with {desc.inputs_file}" if desc.inputs_file else ""),
                  show_lines=True)
    table.add_column("")
    table.add_column("value", overflow="fold")
    table.add_row("job name", settings.name)
    table.add_row("runs", f"{settings.executable} → cwltool {settings.config.tool}"
                  + (f"  ({desc.executable})" if desc.executable else "")
                  + ("  (the whole workflow, packed)" if desc.process_class == "Workflow" else "  (packed)"))
    table.add_row("inputs", _values([f"{key} = {json.dumps(value)}" for key, value in desc.inputs.items()]))
    table.add_row("input sandbox", _values(settings.input_sandbox))
    table.add_row("input data", _values(settings.input_data))
    table.add_row("output data", _values([
        f"{out.output} → {out.lfn}{'<file name>' if out.lfn.endswith('/') else ''} on {out.se or 'the configured SE'}"
        + (f"  {json.dumps(out.metadata)}" if out.metadata else "") for out in desc.output_data]))  # fmt: skip
    table.add_row("output sandbox", _values(settings.output_sandbox))
    processors = settings.processor_arguments()
    table.add_row("processors", ", ".join(f"{key}={value}" for key, value in processors.items()) or "1")
    table.add_row("memory", f"{settings.memory_mb} MB" if settings.memory_mb else "-")
    table.add_row("CPU time", f"{settings.cpu_time} s" if settings.cpu_time else "DIRAC's default")
    table.add_row("tags", ", ".join(settings.tags) or "-")
    table.add_row("sites", ", ".join(settings.sites) or "any")
    table.add_row("banned sites", ", ".join(settings.banned_sites) or "-")
    table.add_row("container", (desc.container_image or "-") + (
        "  (run with the CS's CTAODIRAC/ContainerRuntime)" if desc.container_image else ""))
    if desc.software:
        table.add_row("software", ", ".join(f"{p.package} {p.version or ''}".strip() for p in desc.software))
    console.print(table)
    if desc.ignored_hints:
        console.print(f"Ignored for one job (production hints): {', '.join(desc.ignored_hints)}.")
    console.print("Dry run: nothing was sent to DIRAC (--submit submits the job).")


@app.command(help=__doc__)
def submit_cwl_job(
    tool: Annotated[Path, typer.Argument(help="The CWL CommandLineTool or Workflow.")],
    inputs: Annotated[Path | None, typer.Argument(help="Its inputs file (YAML or JSON job order).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the job description as JSON (with --submit: the job ID too).")
    ] = False,
    submit: Annotated[bool, typer.Option("--submit", help="Submit the job to DIRAC.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Job name (default: dirac:Job job_name, the tool's id "
                                                            "or file name).")] = None,
) -> None:
    errors = error_console()
    with failures_reported(errors), tempfile.TemporaryDirectory(prefix="ctao-cwl-job-") as packing:
        try:
            desc = load_cwl_job(tool, inputs)
            settings = job_settings(desc, name)
            packed = write_packed(desc.cwl, packing)  # the sandbox gets it instead of the CWL file
            settings = settings.model_copy(update={"input_sandbox": [
                str(packed) if path == desc.cwl else path for path in settings.input_sandbox]})
        except ProductionSpecError as error:
            report_spec_errors(error, errors)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        description = desc.model_dump(mode="json")
        if name:
            description["name"] = name
        if desc.ignored_hints and (submit or as_json):
            errors.print(f"note: ignored for one job (production hints): {', '.join(desc.ignored_hints)}")
        if submit:
            from CTAODIRAC.WorkloadManagementSystem.Client.CWLJobSubmission import CWLJobError, submit_job

            try:
                job_id = submit_job(settings)
            except CWLJobError as exc:
                errors.print(f"error: {exc}")
                raise typer.Exit(EXIT_FAILED) from None
            if as_json:
                sys.stdout.write(json.dumps({"job_id": job_id, "job": description}, indent=2) + "\n")
            else:
                Console(highlight=False).print(f"Submitted job {job_id} ({settings.name})")
            return
        if as_json:
            sys.stdout.write(json.dumps(description, indent=2) + "\n")
            return
        render_job(desc, settings, output_console())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``dirac-ctao-submit-cwl-job``)."""
    app(args=argv, prog_name=PROG)


if __name__ == "__main__":
    main()
