"""Turn a production YAML file into DIRAC productions (dry run unless --submit).

By default FILE is read, checked and printed as a plan, offline (no DIRAC configuration or proxy needed).

FILE is in the native format (docs/production-yaml.md), the legacy CTADIRAC format (top-level ProdSteps),
or a CWL Workflow with dirac: hints (a .cwl file, docs/cwl.md; --inputs gives its inputs file).

Exit codes: 0 success; 1 DIRAC error or action not available; 2 bad input or usage; 130 interrupted.

Examples: `dirac-ctao-submit-production campaign.yaml`, `... campaign.yaml --json > plan.json`, `... --schema`.
"""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from CTAODIRAC.Core.CWL.loader import is_cwl
from CTAODIRAC.Core.Production.errors import ProductionSpecError
from CTAODIRAC.Core.Production.legacy import LegacyTranslation
from CTAODIRAC.Core.Production.loader import load_plan, translate_legacy
from CTAODIRAC.Core.Production.plan import Plan, PlannedStep
from CTAODIRAC.Core.Production.schema import schema_text
from CTAODIRAC.Utilities.cli import (
    EXIT_BAD_INPUT,
    command_app,
    error_console,
    failures_reported,
    output_console,
    report_spec_errors,
)

__all__ = ["app", "main"]

PROG = "dirac-ctao-submit-production"


class Mode(enum.StrEnum):
    """Where ``--mode`` runs single test jobs."""

    wms = "wms"
    local = "local"


app = command_app()


def format_condition(key: str, cond: dict[str, Any]) -> str:
    """``key=value``, ``key in [a, b]``, ``key>=v``: a query condition as a production manager writes it."""
    ((operator, operand),) = cond.items()
    if isinstance(operand, list):
        shown = "[" + ", ".join(str(item) for item in operand) + "]"
    else:
        shown = str(operand)
    if operator in ("in", "nin"):
        return f"{key} {'not in' if operator == 'nin' else 'in'} {shown}"
    return f"{key}{operator}{shown}"


def _query_text(query: dict[str, Any] | None) -> str:
    if query is None:
        return "none (no input files)"
    return ", ".join(format_condition(key, cond) for key, cond in query.items()) or "{}"


def _step_node(step: PlannedStep) -> Tree:
    label = Text.assemble(
        (step.name, "bold"),
        f"  {step.kind} → ",
        (step.type, "cyan"),
        f"  group {step.group_size}, {step.plugin}",
    )
    node = Tree(label)
    if step.data_parents:
        node.add(Text("parents: " + ", ".join(step.data_parents)))
    if step.model_parents:
        node.add(Text("models from: " + ", ".join(step.model_parents)))
    elif step.kind == "ctapipe-apply-models":
        node.add(Text("models: none (the jobs must find them by their own settings)", style="red"))
    if step.input:
        node.add(Text(f"input: {step.input}"))
    if step.dataset:
        state = "" if step.dataset_resolved else " (its stored query is read at submission)"
        node.add(Text(f"dataset: {step.dataset}{state}"))
    node.add(Text("input query: " + _query_text(step.input_query), style="green"))
    node.add(Text("output query: " + _query_text(step.output_query), style="yellow"))
    job = step.job
    settings = [f"{job.program or '?'} {job.version or ''}".strip()]
    if job.cpu_time:
        settings.append(f"cpu {job.cpu_time} s")
    if job.processors != 1:
        settings.append(f"{job.processors} processors")
    if job.tags:
        settings.append("tags " + ",".join(job.tags))
    if job.sites:
        settings.append("sites " + ",".join(job.sites))
    if job.banned_sites:
        settings.append("banned " + ",".join(job.banned_sites))
    if job.input_limit:
        settings.append(f"at most {job.input_limit} input files")
    if job.jobs:
        settings.append(f"{job.jobs} jobs")
    elif step.input_query is None:
        settings.append("no job at submission (extend the transformation later)")
    if job.outputs:
        settings.append("outputs " + " ".join(job.outputs))
    node.add(Text("job: " + ", ".join(settings), style="dim"))
    return node


def render_plan(plan: Plan, console: Console) -> None:
    """Print the plan as a tree (productions, steps, queries) followed by a summary table."""
    steps = plan.steps
    title = (
        f"Plan of {plan.source or 'the input'} ({plan.format} format): "
        f"{len(plan.productions)} production(s), {len(steps)} step(s) — dry run, nothing sent to DIRAC"
    )
    tree = Tree(Text(title, style="bold"))
    for production in plan.productions:
        after = f"  after {', '.join(production.after)}" if production.after else ""
        branch = tree.add(Text.assemble(("production ", ""), (production.name, "bold magenta"), after))
        for step in production.steps:
            branch.add(_step_node(step))
    console.print(tree)
    table = Table(title="Summary")
    table.add_column("production")
    table.add_column("steps", justify="right")
    table.add_column("types")
    table.add_column("after")
    for production in plan.productions:
        types: dict[str, int] = {}
        for step in production.steps:
            types[step.type] = types.get(step.type, 0) + 1
        table.add_row(
            production.name,
            str(len(production.steps)),
            ", ".join(f"{count} {name}" for name, count in types.items()),
            ", ".join(production.after) or "-",
        )
    console.print(table)
    if plan.unresolved_datasets:
        console.print(
            "Datasets " + ", ".join(plan.unresolved_datasets) + ": their stored queries are added at submission."
        )


def write_native(translation: LegacyTranslation, file: Path, out: Any, errors: Console) -> None:
    """The native file of a legacy one, as YAML on ``out``; what does not carry over, on ``errors``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    def styled(value: Any) -> Any:  # block mappings, lists of values on one line
        if isinstance(value, dict):
            return CommentedMap((key, styled(item)) for key, item in value.items())
        if isinstance(value, list):
            seq = CommentedSeq(styled(item) for item in value)
            if not any(isinstance(item, dict | list) for item in value):
                seq.fa.set_flow_style()
            return seq
        return value

    yaml = YAML()
    yaml.width = 120
    yaml.representer.add_representer(type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    out.write(f"# {file.name} in the native format ({PROG} --to-native): the same plan, every metadata\n"
              "# value CTADIRAC's rules derive written out (docs/production-yaml.md)\n")  # fmt: skip
    yaml.dump(styled(translation.native), out)
    for step, keys in translation.dropped.items():
        errors.print(f"note: step {step}: job_config {', '.join(sorted(keys))} has no native equivalent and is left "
                     "out (it reaches no DIRAC call)")  # fmt: skip
    if translation.unresolved:
        errors.print("note: datasets " + ", ".join(translation.unresolved) + " were not read: their steps inherit "
                     "the metadata CTADIRAC copies from an input (inherit), and sct/data_level defaults are written "
                     "as if the dataset did not give them")  # fmt: skip


def dirac_configured() -> bool:
    """Whether this shell points at a DIRAC installation (without importing DIRAC)."""
    import os

    if os.environ.get("DIRACSYSCONFIG"):
        return True
    root = os.environ.get("DIRAC_ROOT_PATH")
    if root and Path(root, "etc", "dirac.cfg").is_file():
        return True
    return Path("~/.dirac.cfg").expanduser().is_file()


@app.command(help=__doc__)
def submit_production(
    file: Annotated[Path | None, typer.Argument(help="Production file: YAML (native, legacy) or CWL.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan as JSON on stdout (nothing else on stdout).")
    ] = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON Schema of the native format and exit.")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Production name for a legacy file (default: the file name).")
    ] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Create and start the productions in DIRAC.")] = False,
    mode: Annotated[Mode | None, typer.Option("--mode", help="Submit single test jobs instead (wms or local).")] = None,
    output_json: Annotated[
        Path | None, typer.Option("--output-json", help="With --submit: write the created IDs to this file.")
    ] = None,
    base_path: Annotated[
        str | None,
        typer.Option("--base-path", help="Catalog directory under which each step's output directory is made "
                     "(default: the legacy file's Common.base_path, else /ctao/productions)."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Dry run: do not ask the catalog how many files the inputs match.")
    ] = False,
    to_native: Annotated[
        bool, typer.Option("--to-native", help="Print the native file equivalent to a legacy CTADIRAC file and exit "
                           "(docs/production-yaml.md, \"Moving a legacy file to the native format\")."),
    ] = False,
    client_side: Annotated[
        bool, typer.Option("--client-side", help="With --submit: make every DIRAC call from this machine (one round "
                           "trip each, ~4 per transformation) instead of one call that the ProductionManager serves "
                           "(for a DIRAC server without this extension; docs/production-yaml.md)."),
    ] = False,
    inputs: Annotated[  # --- CWL (docs/cwl.md)
        Path | None, typer.Option("--inputs", help="Inputs file of a CWL workflow (values of its parameters).")
    ] = None,
) -> None:
    errors = error_console()
    with failures_reported(errors):
        if schema:
            if file is not None or as_json or submit or mode:
                errors.print(f"Usage error: {PROG} --schema takes no FILE and no other option.")
                raise typer.Exit(EXIT_BAD_INPUT)
            sys.stdout.write(schema_text())
            return
        if file is None:
            errors.print(f"Usage error: missing FILE. Try '{PROG} --help'.")
            raise typer.Exit(EXIT_BAD_INPUT)
        if output_json is not None and not submit:
            errors.print("Usage error: --output-json needs --submit.")
            raise typer.Exit(EXIT_BAD_INPUT)
        if client_side and not submit:
            errors.print("Usage error: --client-side needs --submit.")
            raise typer.Exit(EXIT_BAD_INPUT)
        if submit and mode is not None:
            errors.print("Usage error: --submit and --mode are exclusive.")
            raise typer.Exit(EXIT_BAD_INPUT)
        if inputs is not None and not is_cwl(file):  # --- CWL (docs/cwl.md)
            errors.print("Usage error: --inputs goes with a CWL file (.cwl).")
            raise typer.Exit(EXIT_BAD_INPUT)
        if to_native:
            if as_json or submit or mode is not None or inputs is not None:
                errors.print(f"Usage error: {PROG} --to-native takes a legacy FILE (and --name) only.")
                raise typer.Exit(EXIT_BAD_INPUT)
            try:
                translation = translate_legacy(file, production_name=name)
            except ProductionSpecError as error:
                report_spec_errors(error, errors)
                raise typer.Exit(EXIT_BAD_INPUT) from None
            write_native(translation, file, sys.stdout, errors)
            return
        try:
            plan = load_plan(file, production_name=name, cwl_inputs=inputs)
        except ProductionSpecError as error:
            report_spec_errors(error, errors)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        if submit or mode is not None:
            from CTAODIRAC.ProductionSystem.Client import submission_cli  # imports DIRAC: only when asked

            if submit:
                code = submission_cli.submit(file, name, plan, base_path, output_json, errors, inputs, client_side)
            else:
                code = submission_cli.test_jobs(file, name, plan, mode.value, errors, inputs)
            raise typer.Exit(code)
        if as_json:
            sys.stdout.write(json.dumps(plan.to_json_dict(), indent=2) + "\n")
            if plan.unresolved_datasets:
                errors.print(
                    "note: the input queries of datasets "
                    + ", ".join(plan.unresolved_datasets)
                    + " hold only the file's refinements; the stored dataset query is added at submission."
                )
            return
        console = output_console()
        render_plan(plan, console)
        if not offline and dirac_configured():
            from CTAODIRAC.ProductionSystem.Client import submission_cli  # imports DIRAC: only when configured

            submission_cli.show_input_counts(plan, console, errors)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``dirac-ctao-submit-production``)."""
    app(args=argv, prog_name=PROG)


if __name__ == "__main__":
    main()
