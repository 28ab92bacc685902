"""Report on productions already in DIRAC: tables in the terminal, and a directory with pictures (timeline of the
jobs on the pilots, production graph, with DL2 files the energy resolution, bias and ROC curve, the failure agent's
decisions over time) and one HTML page showing them.

PRODUCTIONS are production names or IDs (those of one campaign, or any set). Reads the Production, Transformation
and Workload Management systems and the failure agent's decisions; needs a proxy that may read them. DL2 files
(local paths or LFNs, which are downloaded) are read with ctapipe: by this Python when it has ctapipe, else by
--ctapipe-python.

Exit codes: 0 done; 1 DIRAC could not tell what the report needs, or the DL2 files could not be read; 2 bad usage;
130 interrupted. See docs/campaign-report.md.

Example: `dirac-ctao-campaign-report dl0-to-dl2-toyab12cd energy-toyab12cd --output report/`
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from CTAODIRAC.Utilities.cli import command_app, error_console, failures_reported, output_console

__all__ = ["app", "main"]

PROG = "dirac-ctao-campaign-report"
app = command_app()


@app.command(help=__doc__)
def campaign_report(
    productions: Annotated[list[str], typer.Argument(help="Production names or IDs.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory of the report (made if missing).")] = Path(
        "campaign-report"
    ),
    dl2: Annotated[
        Optional[list[str]], typer.Option("--dl2", help="A DL2 file, local path or LFN (repeatable): DL2 plots.")
    ] = None,
    dl2_outputs: Annotated[
        bool, typer.Option("--dl2-outputs", help="Use the productions' own DL2 outputs (downloaded) for the DL2 plots.")
    ] = False,
    ctapipe_python: Annotated[
        Optional[str], typer.Option(help="A Python with ctapipe that reads the DL2 files (default: this one).")
    ] = None,
    title: Annotated[Optional[str], typer.Option(help="The report's title (default: the production names).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the report's data as JSON on stdout.")] = False,
) -> None:
    errors = error_console()
    with failures_reported(errors):
        import DIRAC

        DIRAC.initialize()
        from CTAODIRAC.Core.Report import dl2 as dl2_mod
        from CTAODIRAC.Core.Report import render
        from CTAODIRAC.Core.Report.page import write_report
        from CTAODIRAC.ProductionSystem.Client.CampaignReader import CampaignReader

        data = CampaignReader(say=lambda msg: errors.print(msg)).read(productions, title=title or "")
        wanted = list(dl2 or []) + (data.dl2 if dl2_outputs else [])
        metrics = None
        if wanted:
            python = dl2_mod.ctapipe_python(ctapipe_python)
            with tempfile.TemporaryDirectory(prefix="campaign-report-dl2-") as tmp:
                paths = _local_copies(wanted, Path(tmp))
                errors.print(f"reading {len(paths)} DL2 files with {python}")
                metrics = dl2_mod.read_metrics(paths, python)
        report = write_report(data, output, metrics)
        console = output_console()
        if as_json:
            sys.stdout.write(json.dumps({"data": data.to_json(), "dl2": metrics}, default=str) + "\n")
        else:
            render.show(data, console, metrics)
        errors.print(f"report: {report.page.resolve()} ({len(report.pictures)} pictures)")


def _local_copies(files: list[str], directory: Path) -> list[str]:
    """Local paths of the DL2 files: those that exist here as they are, the others downloaded as LFNs."""
    from DIRAC.DataManagementSystem.Client.DataManager import DataManager

    from CTAODIRAC.Core.Report.dl2 import DL2ReadError

    paths = []
    for i, name in enumerate(files):
        if Path(name).is_file():
            paths.append(name)
            continue
        target = directory / str(i)
        target.mkdir()
        res = DataManager().getFile(name, destinationDir=str(target))
        if not res["OK"] or name not in res["Value"]["Successful"]:
            why = res["Message"] if not res["OK"] else res["Value"]["Failed"].get(name)
            raise DL2ReadError(f"{name}: neither a local file nor an LFN that could be downloaded ({why})")
        paths.append(str(target / Path(name).name))
    return paths


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``dirac-ctao-campaign-report``)."""
    app(args=argv, prog_name=PROG)


if __name__ == "__main__":
    main()
