"""A CWL Workflow with ``dirac:`` hints -> the native production model -> the same :class:`Plan` as YAML.

The translation writes a native :class:`~CTAODIRAC.Core.Production.models.ProductionFile` and hands it to
the production builder, so every check of the YAML path applies unchanged (names, parents, cycles, merge
levels, DIRAC's link rules, query encoding). Its errors are then moved back to the CWL source: each native
key path the translation writes is remembered with the CWL node it came from.

- one transformation per workflow step (each runs a CommandLineTool); ``dirac:Step`` of the tool, then of
  the step, say what it is (``kind``, ``transformation`` name, metadata, group size...);
- a step input fed by a workflow input listed in ``dirac:Production.inputs`` makes a first-level step
  (``input``); fed by another step's output, that step is a parent. For ``ctapipe-apply-models``,
  parents that are training steps are its ``models``;
- ``foreach`` (a production-side ``scatter``): a step with the same ``foreach`` as its parent reads the
  expansion of its own entry; any other step reads every expansion (``select`` picks some);
- other step inputs (parameters): ``lfn://`` File values become the step's ``config`` files.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..Production.builder import DatasetResolver, build_plan
from ..Production.errors import Issue, KeyPath, ProductionSpecError, SpecLinkError, SpecValidationError
from ..Production.models import ProductionFile
from ..Production.plan import Plan, PlannedStep
from ..Production.validation import issues_from_validation_error
from .document import CWLDocument, Hint, entries, read_cwl, requirement
from .hints import ProductionHint
from .pack import pack_cwl
from .stepjob import self_contained, step_job, tool_file_name

__all__ = ["workflow_plan"]

TRAINING_KINDS = ("ctapipe-train-energy", "ctapipe-train-classifier")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
#: StepHint fields copied to the native step under the same name.
_STEP_FIELDS = (
    "description", "foreach", "only", "where", "output", "options", "version", "group_size", "plugin", "cpu_time",
    "processors", "tags", "sites", "banned_sites", "input_limit", "level", "program", "jobs", "showers",
    "executable", "transformation_type", "program_category",
)  # fmt: skip


@dataclass(frozen=True)
class _Origin:
    document: CWLDocument
    path: KeyPath
    keep_rest: bool = True


class _Locator:
    """Native key paths -> CWL nodes (longest matching prefix wins)."""

    def __init__(self, fallback: _Origin) -> None:
        self.rules: dict[KeyPath, _Origin] = {}
        self.fallback = fallback

    def add(self, native: KeyPath, document: CWLDocument, path: KeyPath, keep_rest: bool = True) -> None:
        self.rules[tuple(native)] = _Origin(document, tuple(path), keep_rest)

    def locate(self, issue: Issue) -> Issue:
        path = tuple(issue.path)
        for size in range(len(path), -1, -1):
            origin = self.rules.get(path[:size])
            if origin is not None:
                rest = path[size:] if origin.keep_rest else ()
                return origin.document.issue(origin.path + rest, issue.message)
        return self.fallback.document.issue(self.fallback.path, issue.message)

    def relocate(self, error: ProductionSpecError) -> ProductionSpecError:
        return error.with_issues([self.locate(issue) for issue in error.issues])


@dataclass
class _Step:
    """One workflow step and what the translation knows about it."""

    id: str
    path: KeyPath
    entry: Mapping[str, Any]
    tool: CWLDocument
    hint: dict[str, Any]
    origins: dict[str, tuple[CWLDocument, KeyPath]]
    kind: str
    name: str
    production: str
    foreach: list[str] = field(default_factory=list)
    only: dict[str, Any] = field(default_factory=dict)


def _sources(entry: Any) -> tuple[list[str], Any]:
    """Sources (ids without ``#``) and default of a step ``in`` entry."""
    if isinstance(entry, Mapping):
        source = entry.get("source")
        default = entry.get("default")
    else:
        source, default = entry, None
    if source is None:
        sources: list[str] = []
    elif isinstance(source, list):
        sources = [str(item) for item in source]
    else:
        sources = [str(source)]
    return [source.rsplit("#", 1)[-1] for source in sources], default


def _type_is_files(cwl_type: Any) -> bool:
    """File, File[], File? and the long forms."""
    if isinstance(cwl_type, str):
        return cwl_type.rstrip("?").removesuffix("[]") == "File"
    if isinstance(cwl_type, Mapping):
        return cwl_type.get("type") == "array" and _type_is_files(cwl_type.get("items"))
    if isinstance(cwl_type, list):
        members = [member for member in cwl_type if member != "null"]
        return bool(members) and all(_type_is_files(member) for member in members)
    return False


def lfn_files(value: Any) -> tuple[list[str], list[str]]:
    """``(LFNs, other locations)`` of the File/Directory objects in a CWL value."""
    lfns: list[str] = []
    others: list[str] = []
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            location = str(value.get("location") or value.get("path") or "")
            if location.lower().startswith("lfn:"):
                lfns.append(lfn_path(location))
            elif location:
                others.append(location)
            for secondary in value.get("secondaryFiles") or []:
                more_lfns, more_others = lfn_files(secondary)
                lfns += more_lfns
                others += more_others
        else:
            for item in value.values():
                more_lfns, more_others = lfn_files(item)
                lfns += more_lfns
                others += more_others
    elif isinstance(value, list):
        for item in value:
            more_lfns, more_others = lfn_files(item)
            lfns += more_lfns
            others += more_others
    return lfns, others


def lfn_path(location: str) -> str:
    """``lfn:///ctao/x`` or ``LFN:/ctao/x`` -> ``/ctao/x``."""
    path = location[4:]
    while path.startswith("//"):
        path = path[1:]
    return path


def _substitute(template: str, variables: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return str(variables[name]) if name in variables else match.group(0)

    return _VARIABLE.sub(replace, template)


def _matches(variables: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        allowed = value if isinstance(value, list) else [value]
        if variables.get(key) not in allowed:
            return False
    return True


class _Translation:
    def __init__(
        self,
        workflow: CWLDocument,
        inputs: Mapping[str, Any],
        production_name: str | None,
    ) -> None:
        self.workflow = workflow
        self.values = inputs
        self.tools: dict[Path, CWLDocument] = {}
        hints = workflow.hints(())
        self.production_hint: Hint | None = hints.get("Production")
        hint_path = self.production_hint.path if self.production_hint else ()
        self.hint_path = hint_path
        self.hint: ProductionHint = (
            self.production_hint.model
            if self.production_hint
            else ProductionHint.model_validate({"class": "dirac:Production"})
        )
        self.locator = _Locator(_Origin(workflow, ()))
        self.default_production = (
            production_name
            or self.hint.production
            or (str(workflow.data.get("id", "")).lstrip("#") or None)
            or workflow.path.stem
        )
        data = workflow.data
        self.workflow_inputs = {key: (entry, path) for key, entry, path in entries(data.get("inputs"), ("inputs",))}

    # ------------------------------------------------------------------------------------------ helpers
    def error(self, document: CWLDocument, path: KeyPath, message: str) -> ProductionSpecError:
        return SpecLinkError([document.issue(path, message)])

    def tool_of(self, step_id: str, entry: Mapping[str, Any], path: KeyPath) -> CWLDocument:
        run = entry.get("run")
        if isinstance(run, Mapping):
            tool = self.workflow.inline(path + ("run",))
        else:
            reference = str(run).removeprefix("file://").split("#", 1)[0]
            file = (self.workflow.path.parent / reference).resolve()
            if file not in self.tools:
                self.tools[file] = read_cwl(file)
            tool = self.tools[file]
        cls = tool.process_class
        if cls != "CommandLineTool":
            raise self.error(
                self.workflow,
                path + ("run",),
                f"step '{step_id}' runs a {cls}; a transformation runs one CommandLineTool"
                " (subworkflows and expression tools are not supported yet)",
            )
        return tool

    def input_value(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        entry = self.workflow_inputs.get(name, (None,))[0]
        return entry.get("default") if isinstance(entry, Mapping) else None

    # ----------------------------------------------------------------------------------------- checks
    def check_inputs(self) -> None:
        for name in self.hint.inputs:
            where = self.hint_path + ("inputs", name)
            if name not in self.workflow_inputs:
                known = ", ".join(self.workflow_inputs) or "none"
                raise self.error(self.workflow, where, f"'{name}' is not an input of the workflow; inputs: {known}")
            entry = self.workflow_inputs[name][0]
            cwl_type = entry.get("type") if isinstance(entry, Mapping) else entry
            if not _type_is_files(cwl_type):
                raise self.error(
                    self.workflow, where, f"workflow input '{name}' is of type {cwl_type!r}; catalog files"
                    " feed File or File[] inputs")  # fmt: skip

    # ------------------------------------------------------------------------------------------- steps
    def read_steps(self) -> list[_Step]:
        steps: list[_Step] = []
        for step_id, entry, path in entries(self.workflow.data.get("steps"), ("steps",)):
            tool = self.tool_of(step_id, entry, path)
            merged: dict[str, Any] = {}
            origins: dict[str, tuple[CWLDocument, KeyPath]] = {}
            for document, owner in ((tool, tool.root), (self.workflow, path)):
                hint = document.hints(owner).get("Step")
                if hint is None:
                    continue
                for key, value in hint.model.model_dump(exclude_unset=True, exclude={"class_"}).items():
                    merged[key] = value
                    origins[key] = (document, hint.path + (key,))
            if "processors" not in merged:
                found = requirement(self.workflow, path, "ResourceRequirement") or requirement(
                    tool, tool.root, "ResourceRequirement")  # fmt: skip
                if found and isinstance(found[0].get("coresMin"), int) and not isinstance(found[0]["coresMin"], bool):
                    merged["processors"] = found[0]["coresMin"]
                    document = self.workflow if requirement(self.workflow, path, "ResourceRequirement") else tool
                    origins["processors"] = (document, found[1] + ("coresMin",))
            kind = merged.get("kind") or "executable"
            if kind == "executable" and "executable" not in merged:
                command = tool.data.get("baseCommand")
                words = command if isinstance(command, list) else [command] if command else []
                merged["executable"] = str(words[0]) if words else step_id
            foreach = merged.get("foreach")
            steps.append(
                _Step(
                    id=step_id,
                    path=path,
                    entry=entry,
                    tool=tool,
                    hint=merged,
                    origins=origins,
                    kind=kind,
                    name=merged.get("transformation") or step_id,
                    production=merged.get("production") or self.default_production,
                    foreach=[foreach] if isinstance(foreach, str) else list(foreach or []),
                    only=dict(merged.get("only") or {}),
                )
            )
        return steps

    def expansions(self, step: _Step, select: Mapping[str, Any]) -> list[str]:
        """Concrete names of the expansions of ``step`` whose variables match ``select``."""
        lists = [self.hint.matrix.get(name, []) for name in step.foreach]
        names = []
        for combination in itertools.product(*lists):
            variables: dict[str, Any] = {}
            for entry in combination:
                variables.update(entry)
            if _matches(variables, step.only) and _matches(variables, select):
                names.append(_substitute(step.name, variables))
        return names

    def native_step(self, step: _Step, by_id: Mapping[str, _Step], position: KeyPath) -> dict[str, Any]:
        native: dict[str, Any] = {"name": step.name, "kind": step.kind}
        for key in _STEP_FIELDS:
            if key in step.hint and not (key == "executable" and step.kind != "executable"):
                native[key] = step.hint[key]
        self.locator.add(position, self.workflow, step.path, keep_rest=False)
        for key, (document, path) in step.origins.items():
            target = "name" if key == "transformation" else key
            self.locator.add(position + (target,), document, path)
        if "name" not in [("name" if k == "transformation" else k) for k in step.origins]:
            self.locator.add(position + ("name",), self.workflow, step.path, keep_rest=False)
        self.locator.add(position + ("parents",), self.workflow, step.path + ("in",), keep_rest=False)

        select = dict(step.hint.get("select") or {})
        in_ids = {in_id for in_id, _, _ in entries(step.entry.get("in"), ())}
        for in_id in select:
            if in_id not in in_ids:
                document, path = step.origins["select"]
                raise self.error(document, path + (in_id,),
                                 f"'{in_id}' is not an input of step '{step.id}'; inputs: {', '.join(sorted(in_ids))}")
        data_input: tuple[str, KeyPath] | None = None
        parents: list[tuple[str, KeyPath]] = []
        models: list[tuple[str, KeyPath]] = []
        config: list[str] = []
        parameters: dict[str, Any] = {}
        fed: list[str] = []
        feeds: dict[str, list[str]] = {}  # step input -> the data parents (expansions) whose files it takes
        model_feeds: dict[str, list[str]] = {}  # step input -> the training steps whose models it takes
        catalog_feeds: list[str] = []  # step inputs fed by the catalog input
        config_values: dict[str, Any] = {}  # step input -> its value with lfn:// files
        for in_id, entry, in_path in entries(step.entry.get("in"), step.path + ("in",)):
            sources, default = _sources(entry)
            values: list[Any] = []
            if not sources and default is not None:
                values.append(default)
            for source in sources:
                head, _, _ = source.partition("/")
                if "/" in source and head in by_id:
                    parent = by_id[head]
                    fed.append(in_id)
                    wanted = select.get(in_id)
                    if parent.foreach and (wanted is not None or not set(parent.foreach) <= set(step.foreach)):
                        names = self.expansions(parent, wanted or {})
                        if not names:
                            document, path = step.origins.get("select", (self.workflow, in_path))
                            raise self.error(document, path, f"no expansion of step '{parent.id}' matches"
                                             f" 'select' of input '{in_id}' of step '{step.id}'")
                    else:
                        if wanted is not None:
                            document, path = step.origins["select"]
                            raise self.error(document, path + (in_id,), f"'select' of input '{in_id}': step"
                                             f" '{parent.id}' has no 'foreach', there is nothing to select")
                        names = [parent.name]
                    is_model = step.kind == "ctapipe-apply-models" and parent.kind in TRAINING_KINDS
                    target = models if is_model else parents
                    for name in names:
                        if name not in [existing for existing, _ in target]:
                            target.append((name, in_path))
                        per_input = (model_feeds if is_model else feeds).setdefault(in_id, [])
                        if name not in per_input:
                            per_input.append(name)
                elif source in self.hint.inputs:
                    fed.append(in_id)
                    if data_input is not None and data_input[0] != source:
                        raise self.error(self.workflow, in_path, f"step '{step.id}' reads two catalog inputs"
                                         f" ('{data_input[0]}' and '{source}'); a transformation has one input query")
                    data_input = (source, in_path)
                    catalog_feeds.append(in_id)
                elif source in self.workflow_inputs:
                    values.append(self.input_value(source))
                else:
                    raise self.error(self.workflow, in_path, f"unknown source '{source}'")
            for value in values:
                lfns, others = lfn_files(value)
                if others:
                    raise self.error(
                        self.workflow, in_path,
                        f"step '{step.id}' input '{in_id}' is the local file '{others[0]}'; the jobs of a production"
                        " read catalog files only: register it and give its lfn:// location")  # fmt: skip
                if lfns:
                    config += [lfn for lfn in lfns if lfn not in config]
                    config_values[in_id] = value if len(values) == 1 else values
                elif value is not None:
                    parameters[in_id] = value
        if data_input is not None and parents:
            raise self.error(self.workflow, data_input[1], f"step '{step.id}' reads both the catalog input"
                             f" '{data_input[0]}' and the output of other steps; a transformation reads one"
                             " or the other")
        if data_input is None and not parents and step.kind != "mc-simulation":
            raise self.error(
                self.workflow, step.path + ("in",) if "in" in step.entry else step.path,
                f"step '{step.id}' reads no files: connect an input to a workflow input listed in"
                " dirac:Production.inputs or to another step's output (only mc-simulation steps have no input)")
        if data_input is not None:
            native["input"] = data_input[0]
            self.locator.add(position + ("input",), self.workflow, data_input[1], keep_rest=False)
        if parents:
            native["parents"] = [name for name, _ in parents]
            for index, (_, path) in enumerate(parents):
                self.locator.add(position + ("parents", index), self.workflow, path, keep_rest=False)
        if models:
            native["models"] = [name for name, _ in models]
            for index, (_, path) in enumerate(models):
                self.locator.add(position + ("models", index), self.workflow, path, keep_rest=False)
        if config:
            native["config"] = config
        step.hint["_cwl"] = {"parameters": parameters, "files": sorted(set(fed)), "feeds": feeds,
                             "model_feeds": model_feeds, "catalog_feeds": catalog_feeds, "config": config_values}
        return native

    # ------------------------------------------------------------------------------------------- build
    def native(self) -> dict[str, Any]:
        self.check_inputs()
        steps = self.read_steps()
        by_id = {step.id: step for step in steps}
        order: list[str] = []
        for step in steps:
            if step.production not in order:
                order.append(step.production)
        for name in self.hint.productions:
            if name not in order:
                raise self.error(self.workflow, self.hint_path + ("productions", name),
                                 f"production '{name}' is described but no step names it (dirac:Step.production)")
        productions: list[dict[str, Any]] = []
        for p_index, production in enumerate(order):
            info = self.hint.productions.get(production)
            if info is not None:
                entry = {"name": production, "description": info.description, "after": list(info.after)}
                origin = self.hint_path + ("productions", production)
            elif production == self.default_production:
                entry = {"name": production, "description": self.hint.description, "after": list(self.hint.after)}
                origin = self.hint_path
            else:
                entry = {"name": production}
                first = next(step for step in steps if step.production == production)
                origin = first.origins.get("production", (self.workflow, first.path))[1]
            self.locator.add(("productions", p_index), self.workflow, origin)
            entry["steps"] = []
            productions.append(entry)
        self.steps = steps
        self.positions: dict[KeyPath, _Step] = {}
        for step in steps:
            p_index = order.index(step.production)
            s_index = len(productions[p_index]["steps"])
            position: KeyPath = ("productions", p_index, "steps", s_index)
            productions[p_index]["steps"].append(self.native_step(step, by_id, position))
            self.positions[position] = step
        for key in ("inputs", "matrix", "defaults"):
            self.locator.add((key,), self.workflow, self.hint_path + (key,))
        hint = self.hint
        return {
            "format": 1,
            "inputs": {name: value.model_dump(exclude_defaults=True) for name, value in hint.inputs.items()},
            "matrix": hint.matrix,
            "defaults": hint.defaults.model_dump(exclude_none=True),
            "productions": productions,
        }

    def tool_document(self, step: _Step) -> dict[str, Any]:
        """The step's CommandLineTool as the jobs run it: its own data, or packed when it imports files."""
        cached = self.documents.get(id(step.tool.data))
        if cached is not None:
            return cached
        inline = step.tool.root != ()
        document = self_contained(step.tool.data, self.workflow.data.get("cwlVersion") if inline else None,
                                  self.workflow.data.get("$namespaces") if inline else None)
        if document is None:
            if inline:
                raise self.error(self.workflow, step.path + ("run",), f"step '{step.id}': an inline tool that"
                                 " imports other files cannot be run by a transformation; put it in a file")
            document = pack_cwl(step.tool.path)
        self.documents[id(step.tool.data)] = document
        return document

    def step_job(self, step: _Step, planned: PlannedStep, plan: Plan) -> dict[str, Any]:
        """The :class:`~.stepjob.CWLStepJob` of a step's transformation (``job.extra["cwl_step"]``)."""
        info = step.hint["_cwl"]

        def expanded(names: list[str], among: list[str]) -> list[str]:
            """The planned parents a fed name stands for (a ``foreach`` name: this expansion's)."""
            found: list[str] = []
            for name in names:
                pattern = re.compile("^" + _VARIABLE.sub(".+", re.escape(name).replace(r"\$", "$")) + "$")
                found += [parent for parent in among if (parent == name or pattern.match(parent))
                          and parent not in found]
            return found

        file_inputs: dict[str, list[dict[str, Any]]] = {key: [] for key in info["catalog_feeds"]}
        for key, names in info["feeds"].items():
            file_inputs[key] = [dict(plan.step(name).output_query)
                                for name in expanded(names, list(planned.data_parents))]
        model_feeds = {key: expanded(names, list(planned.model_parents)) for key, names in info["model_feeds"].items()}
        docker = requirement(self.workflow, step.path, "DockerRequirement") or requirement(
            step.tool, step.tool.root, "DockerRequirement")  # fmt: skip
        image = (docker[0].get("dockerPull") or docker[0].get("dockerImageId")) if docker else None
        return step_job(tool_file_name(step.id), self.tool_document(step), file_inputs, model_feeds,
                        info["config"], info["parameters"], str(image) if image else None).model_dump(mode="json")

    def attach(self, plan: Plan) -> Plan:
        """Each job description names the CWL tool, step and parameters the job runs."""
        self.documents: dict[int, dict[str, Any]] = {}
        productions = []
        for production in plan.productions:
            steps = []
            for planned in production.steps:
                step = self.positions.get(tuple(planned.source))
                if step is None:
                    steps.append(planned)
                    continue
                extra = dict(planned.job.extra)
                extra["cwl_step"] = self.step_job(step, planned, plan)
                extra["cwl"] = {
                    "workflow": self.workflow.name,
                    "step": step.id,
                    "tool": step.tool.name if step.tool.root == () else f"{self.workflow.name} (inline)",
                    "files_from_transformation": step.hint["_cwl"]["files"],
                    "parameters": step.hint["_cwl"]["parameters"],
                }
                steps.append(planned.model_copy(update={"job": planned.job.model_copy(update={"extra": extra})}))
            productions.append(production.model_copy(update={"steps": steps}))
        return plan.model_copy(update={"productions": productions})


def workflow_plan(
    workflow: CWLDocument,
    *,
    inputs: Mapping[str, Any] | None = None,
    dataset_resolver: DatasetResolver | None = None,
    production_name: str | None = None,
) -> Plan:
    """The plan of a validated CWL Workflow (see the module docstring); errors located in the CWL files."""
    translation = _Translation(workflow, inputs or {}, production_name)
    native = translation.native()
    try:
        spec = ProductionFile.model_validate(native)
    except ValidationError as exc:
        error = SpecValidationError(issues_from_validation_error(exc, native, ProductionFile))
        raise translation.locator.relocate(error) from None
    try:
        plan = build_plan(spec, source=workflow.name, dataset_resolver=dataset_resolver)
    except ProductionSpecError as exc:
        raise translation.locator.relocate(exc) from None
    return translation.attach(plan)

