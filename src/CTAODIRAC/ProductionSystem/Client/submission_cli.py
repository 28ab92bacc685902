"""The DIRAC side of ``dirac-ctao-submit-production``: submission, test jobs and input counts.

Imported by the command only when it needs DIRAC (``--submit``, ``--mode``, or a dry run in a shell
configured for DIRAC), so that the dry run works offline without DIRAC's configuration or a proxy.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

import DIRAC
from CTAODIRAC.Core.Production.errors import ProductionSpecError
from CTAODIRAC.Core.Production.loader import load_plan
from CTAODIRAC.Core.Production.plan import Plan
from CTAODIRAC.Utilities.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK

DEFAULT_BASE_PATH = "/ctao/productions"


def _initialise(errors: Console) -> bool:
    try:
        DIRAC.initialize()
    except Exception as exc:  # DIRACInitError and friends: no configuration, no proxy...
        errors.print(f"error: DIRAC is not usable here: {exc}")
        return False
    return True


def _dataset_resolver(name: str) -> dict:
    from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient

    res = FileCatalogClient().getDatasetParameters(name)
    if not res["OK"]:
        raise LookupError(f"dataset {name}: {res['Message']}")
    value = res["Value"].get("Successful", {}).get(name, res["Value"])
    query = value.get("MetaQuery") if isinstance(value, dict) else None
    if query is None:
        raise LookupError(f"dataset {name}: the catalog has no such dataset")
    return json.loads(query) if isinstance(query, str) else dict(query)


def _resolved(file: Path, name: str | None, plan: Plan, errors: Console, cwl_inputs: Path | None) -> Plan | None:
    """The plan with the queries of its datasets read from the catalog (the file read again with them)."""
    if not plan.unresolved_datasets:
        return plan
    try:
        return load_plan(file, production_name=name, dataset_resolver=_dataset_resolver, cwl_inputs=cwl_inputs)
    except ProductionSpecError as error:
        for issue in error.issues:
            errors.print(f"error: {issue}")
        return None


def job_side_settings() -> dict:
    """Where production jobs store their outputs and how they set up software, from the CS section
    ``/Operations/<VO or Defaults>/CTAODIRAC``: ``OutputSE``, ``FailoverSEs``, ``SoftwareKind``,
    ``SoftwareLocation``. Without ``OutputSE``, jobs only run the step's program."""
    from DIRAC.ConfigurationSystem.Client.Helpers.Operations import Operations

    from CTAODIRAC.Core.JobSide import Software

    ops = Operations()
    return {
        "output_se": ops.getValue("CTAODIRAC/OutputSE", ""),
        "failover_ses": ops.getValue("CTAODIRAC/FailoverSEs", []),
        "software": Software(kind=ops.getValue("CTAODIRAC/SoftwareKind", "none"),
                             location=ops.getValue("CTAODIRAC/SoftwareLocation", "")),
    }


def submit(file: Path, name: str | None, plan: Plan, base_path: str | None, output_json: Path | None,
           errors: Console, cwl_inputs: Path | None = None, client_side: bool = False) -> int:
    """Create and start the plan's productions; print (and optionally write) what was created.

    By default the ProductionManager creates the whole plan on the server in one call
    (:class:`~CTAODIRAC.ProductionSystem.Client.ServerSubmission.ServerSubmitter`); ``client_side``: this process
    makes every DIRAC call itself (:class:`~CTAODIRAC.ProductionSystem.Client.ProductionSubmitter.ProductionSubmitter`)."""
    if not _initialise(errors):
        return EXIT_FAILED
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import ProductionSubmitter, SubmissionError
    from CTAODIRAC.ProductionSystem.Client.ServerSubmission import ServerSubmitter

    resolved = _resolved(file, name, plan, errors, cwl_inputs)
    if resolved is None:
        return EXIT_BAD_INPUT
    base = base_path or resolved.base_path or DEFAULT_BASE_PATH
    jobs = job_side_settings()
    kind = ProductionSubmitter if client_side else ServerSubmitter
    submitter = kind(base, say=lambda line: errors.print(f"  {line}"), **jobs)
    try:
        results = submitter.submit(resolved)
    except SubmissionError as exc:
        errors.print(f"error: {exc}")
        if exc.left is None:
            errors.print(f"What of this run is in DIRAC is {exc.left_how}.")
        elif exc.left:
            errors.print(f"Left in DIRAC: production(s) {', '.join(exc.left)} ({exc.left_how}).")
        else:
            errors.print("Nothing of this run was left in DIRAC.")
        return EXIT_FAILED
    out = Console(highlight=False)
    table = Table(title=f"Productions of {file}")
    for col in ("production", "ID", "state", "transformations"):
        table.add_column(col)
    for prod in results:
        table.add_row(prod.name, str(prod.production_id), prod.state,
                      ", ".join(f"{s.transformation_id}:{s.name}" for s in prod.steps))
    out.print(table)
    if output_json is not None:
        output_json.write_text(json.dumps({"productions": [p.as_dict() for p in results]}, indent=2) + "\n")
    return EXIT_OK


def test_jobs(file: Path, name: str | None, plan: Plan, mode: str, errors: Console,
              cwl_inputs: Path | None = None) -> int:
    """Submit one test job per first-level step (inputs: up to a group of the files its query selects)."""
    if not _initialise(errors):
        return EXIT_FAILED
    from DIRAC.Interfaces.API.Dirac import Dirac

    from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata
    from CTAODIRAC.ProductionSystem.Client.ProductionSubmitter import job_body_job

    resolved = _resolved(file, name, plan, errors, cwl_inputs)
    if resolved is None:
        return EXIT_BAD_INPUT
    catalog = CatalogMetadata()
    dirac = Dirac()
    failed = 0
    for step in resolved.steps:
        if step.data_parents or step.model_parents:
            errors.print(f"  {step.name}: skipped (its inputs are produced by {', '.join(step.parents)})")
            continue
        job = job_body_job(step)
        if step.input_query is not None:
            lfns = catalog.find_files(step.input_query)[: step.group_size]
            if not lfns:
                errors.print(f"  {step.name}: skipped (no catalog file matches its input query)")
                continue
            job.setInputData(lfns)
        res = dirac.submitJob(job, mode=mode)
        if res["OK"]:
            errors.print(f"  {step.name}: job {res['Value']} ({mode})")
        else:
            failed += 1
            errors.print(f"  {step.name}: submission failed: {res['Message']}")
    return EXIT_FAILED if failed else EXIT_OK


def show_input_counts(plan: Plan, console: Console, errors: Console) -> None:
    """For a dry run in a DIRAC-configured shell: how many catalog files each first-level input query
    selects today. Problems are reported as notes: a dry run never fails on them."""
    firsts = [s for s in plan.steps if s.input_query is not None and not s.data_parents]
    if not firsts:
        return
    try:
        DIRAC.initialize()
        from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata

        catalog = CatalogMetadata()
        table = Table(title="Catalog files matching each first-level input query today")
        table.add_column("step")
        table.add_column("files", justify="right")
        for step in firsts:
            table.add_row(step.name, str(catalog.count_files(step.input_query)))
        console.print(table)
    except Exception as exc:  # a dry run only informs: say why the counts are missing
        errors.print(f"note: file counts not shown ({type(exc).__name__}: {exc})")
