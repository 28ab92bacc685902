"""Submit a production plan to DIRAC's Production System: all or nothing, never twice, checked.

The one place that knows DIRAC's ProductionStep attributes, step renaming and query storage. For each
production of the plan, in order:

1. If a production of that name exists: when it is Active and carries this plan's digest, it is reported
   and nothing is created; when it was never started (a crash between creating and starting it), it is
   deleted and made again; anything else is an error (exit 1, nothing changed).
2. Otherwise its steps are added (one fresh ProductionClient per production), the production is added and
   started, and what DIRAC stored is read back: each transformation's input and output query, type, group
   size and plugin, and the parent links of the production description.
3. The output directories of every production of the plan are created in the file catalog with their directory
   metadata, for an existing production too (both calls are idempotent): a run killed after starting a
   production left them missing, and its outputs would lack the metadata its children's queries look for.
4. Each simulation transformation (no input files: DIRAC makes no task by itself) gets tasks up to the step's
   ``jobs`` (``extendTransformation``), for an existing production too: a run that stopped before this point
   is completed by the next one, and a complete one is left alone.

The catalog metadata fields the queries use are declared first (DIRAC's link validator needs them).
If anything fails after something was created, every production created by this run is deleted again
(with its transformations) before the error is raised. The error's ``left`` names what is nevertheless in DIRAC:
productions whose roll-back failed, or (when extending the simulations failed, after everything else) the
productions of the run, complete but for their simulation tasks, which a re-run adds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from DIRAC.Interfaces.API.Job import Job
from DIRAC.ProductionSystem.Client.ProductionClient import ProductionClient
from DIRAC.ProductionSystem.Client.ProductionStep import ProductionStep
from DIRAC.TransformationSystem.Client.TransformationClient import TransformationClient

from CTAODIRAC.Core.errors import CTAODIRACError, DiracCallError
from CTAODIRAC.Core.JobSide import Software, StepConfig, encode_config, step_config
from CTAODIRAC.Core.Production.adapter import DiracStep, dirac_step
from CTAODIRAC.Core.Production.plan import Plan, PlannedProduction, PlannedStep
from CTAODIRAC.Core.Production.submission import (
    DIGEST_MARK,
    FILE_LEVEL_FIELDS,
    catalog_fields,
    digest_from_text,
    output_directories,
    production_digest,
    query_differences,
)
from CTAODIRAC.DataManagementSystem.Client.CatalogMetadata import CatalogMetadata
from CTAODIRAC.Utilities.ReturnValues import value_or_raise
from CTAODIRAC.WorkloadManagementSystem.Client.JobSettings import apply_job_settings, job_errors

__all__ = ["ProductionSubmitter", "SubmissionError", "SubmittedProduction", "SubmittedStep", "job_body", "job_body_job"]


class SubmissionError(CTAODIRACError, RuntimeError):
    """A DIRAC call of the submission failed; ``production`` and ``step`` say where.

    ``left``: the productions that are in DIRAC after the failure (empty: nothing of the run is left; None: not
    known, e.g. the answer of a server-side submission was lost); ``left_how``: what to do about them."""

    def __init__(self, message: str, production: str | None = None, step: str | None = None):
        where = " ".join(p for p in (f"production {production}" if production else "", f"step {step}" if step else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.located(production=production, step=step)
        self.left: list[str] | None = []
        self.left_how = ""


@dataclass
class SubmittedStep:
    name: str
    transformation_id: int
    transformation_name: str
    type: str


@dataclass
class SubmittedProduction:
    name: str
    production_id: int
    state: str  # "created" or "existing"
    digest: str
    steps: list[SubmittedStep] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "production_id": self.production_id,
            "state": self.state,
            "digest": self.digest,
            "transformations": [s.__dict__ for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmittedProduction:
        """The production :meth:`as_dict` described (e.g. in the server-side submission's answer)."""
        return cls(str(data["name"]), int(data["production_id"]), str(data["state"]), str(data["digest"]),
                   [SubmittedStep(str(t["name"]), int(t["transformation_id"]), str(t["transformation_name"]),
                                  str(t["type"])) for t in data["transformations"]])  # fmt: skip


def job_body(step: PlannedStep, config: StepConfig | None = None) -> str:
    """The workflow body of a step's jobs (DIRAC Job API, XML); a setting the Job API refuses (e.g. a site
    the CS does not define) raises :class:`SubmissionError`."""
    job = job_body_job(step, config)
    if (problems := job_errors(job)) is not None:
        raise SubmissionError(f"the job description is refused by DIRAC: {problems}", step.production, step.name)
    return job.workflow.toXML()


def job_body_job(step: PlannedStep, config: StepConfig | None = None) -> Job:
    """The job of a step. With a job-side ``config``: ``dirac-ctao-run-step`` runs the step's tool on the
    task's inputs, uploads and registers the outputs with their metadata and reports the inputs' fate.
    Without one (test jobs of ``--mode``): the step's program with its options, nothing more."""
    job = Job()
    job.setName(step.name)
    job.setType(step.type)
    desc = step.job
    if config is not None:
        job.setExecutable("dirac-ctao-run-step", arguments=encode_config(config), logFile=f"{step.name}.out")
        job.setOutputSandbox([f"{step.name}.out", f"{step.name}.log"])
    else:
        arguments = " ".join(part for part in (desc.options, desc.arguments) if part)
        job.setExecutable(desc.program or "echo", arguments=arguments)
    apply_job_settings(job, cpu_time=desc.cpu_time, processors=desc.processors, tags=desc.tags, sites=desc.sites,
                       banned_sites=desc.banned_sites)
    return job


def production_step(described: DiracStep, digest: str, body: str, parents: list[ProductionStep]) -> ProductionStep:
    """DIRAC's ``ProductionStep`` with every attribute of ``described`` (the long description marked with the
    plan's digest), the jobs' ``body`` and the parents' step objects. An attribute DIRAC's class does not have
    (another DIRAC version) is an error, never dropped."""
    pstep = ProductionStep()
    for name, value in described.attributes().items():
        if not hasattr(pstep, name):
            raise SubmissionError(f"DIRAC's ProductionStep has no attribute {name}: this DIRAC is not supported",
                                  step=described.Name)  # fmt: skip
        setattr(pstep, name, value)
    pstep.LongDescription = f"{described.LongDescription} {DIGEST_MARK}{digest}"
    pstep.Body = body
    pstep.ParentStep = parents or None  # DIRAC's default: no parent
    return pstep


def _value(result: dict, what: str, production: str | None = None, step: str | None = None) -> Any:
    try:
        return value_or_raise(result, what, production=production, step=step)
    except DiracCallError as exc:
        raise SubmissionError(f"{what}: {exc.message}", production, step) from exc


class ProductionSubmitter:
    """Submit plans; ``say`` receives one line per action (for the CLI's progress)."""

    def __init__(
        self,
        base_path: str,
        trans_client: TransformationClient | None = None,
        catalog: CatalogMetadata | None = None,
        say: Callable[[str], None] = lambda _line: None,
        production_client_factory: Callable[[], ProductionClient] = ProductionClient,
        output_se: str = "",
        failover_ses: list[str] | None = None,
        software: Software | None = None,
    ):
        """``output_se`` empty: the jobs run the step's program only (no upload, registration or report)."""
        self.base_path = base_path
        self.output_se = output_se
        self.failover_ses = failover_ses or []
        self.software = software
        self.trans = trans_client or TransformationClient()
        self.catalog = catalog or CatalogMetadata()
        self.say = say
        self.new_production_client = production_client_factory

    # -- the whole plan ---------------------------------------------------------------------------------
    def submit(self, plan: Plan) -> list[SubmittedProduction]:
        # every job description first: a refused one stops the submission before anything is created
        dirs = {d.step: d.path for d in output_directories(plan, self.base_path)}
        bodies = {
            step.name: job_body(step, step_config(step, dirs[step.name], self.output_se, self.failover_ses,
                                                  self.software) if self.output_se else None)
            for step in plan.steps
        }
        self._declare_fields(plan)
        created: list[str] = []
        done: list[SubmittedProduction] = []
        try:
            for production in plan.productions:
                result = self._submit_production(production, bodies, created)
                done.append(result)
            self._create_directories(plan)
        except BaseException as exc:
            not_removed = self._roll_back(created)
            if isinstance(exc, SubmissionError) and not_removed:
                exc.left = not_removed
                exc.left_how = "the roll-back could not delete them: delete them by hand"
            raise
        try:
            self._extend_simulations(plan, done)
        except SubmissionError as exc:
            exc.left = [p.name for p in done]
            exc.left_how = "created and kept, but a simulation step lacks tasks: run the same command again to add them"
            raise
        return done

    def _extend_simulations(self, plan: Plan, done: list[SubmittedProduction]) -> None:
        """Tasks up to ``jobs`` for each simulation step (after everything else: a failure here leaves a
        complete production that a re-run extends)."""
        ids = {(p.name, s.name): s.transformation_id for p in done for s in p.steps}
        for step in plan.steps:
            if not step.job.jobs:
                continue
            tid = ids[(step.production, step.name)]
            have = len(_value(self.trans.getTransformationTasks({"TransformationID": tid}), "getTransformationTasks",
                              step.production, step.name))
            if have < step.job.jobs:
                _value(self.trans.extendTransformation(tid, step.job.jobs - have), "extendTransformation",
                       step.production, step.name)
                self.say(f"step {step.name}: transformation {tid} extended by {step.job.jobs - have} tasks "
                         f"({step.job.jobs} jobs)")

    def _declare_fields(self, plan: Plan) -> None:
        known = self.catalog.fields()
        have = set(known["directory"]) | set(known["file"])
        wanted = {k: t for k, t in catalog_fields(plan).items() if k not in have}
        if not wanted:
            return
        directory = {k: t for k, t in wanted.items() if k not in FILE_LEVEL_FIELDS}
        files = {k: t for k, t in wanted.items() if k in FILE_LEVEL_FIELDS}
        added = self.catalog.ensure_fields(directory=directory, file=files)
        self.say(f"catalog: declared metadata fields {', '.join(added)}")

    def _roll_back(self, created: list[str]) -> list[str]:
        """Delete the productions this run created; the names of those that could not be deleted."""
        failed = []
        for name in reversed(created):
            res = self.new_production_client().deleteProduction(name)
            self.say(f"rolled back: production {name} deleted" if res["OK"] else
                     f"roll back of production {name} FAILED: {res['Message']} (delete it by hand)")
            if not res["OK"]:
                failed.append(name)
        return failed

    # -- one production ---------------------------------------------------------------------------------
    def _submit_production(
        self, production: PlannedProduction, bodies: dict[str, str], created: list[str]
    ) -> SubmittedProduction:
        digest = production_digest(production)
        client = self.new_production_client()
        existing = client.getProduction(production.name)
        if existing["OK"]:
            row = existing["Value"]
            if row["Status"] == "New":
                # a previous run stopped between creating and starting it: start again from nothing
                self.say(f"production {production.name}: found unstarted (ID {row['ProductionID']}), recreating")
                _value(client.deleteProduction(production.name), "deleteProduction", production.name)
            else:
                return self._existing(production, row, digest)

        # 1. steps, each with its parents' (renamed) names
        prod_steps: dict[str, ProductionStep] = {}
        dirac_names: dict[str, str] = {}
        dirac_steps: dict[str, DiracStep] = {}
        names = {s.name for s in production.steps}
        for step in production.steps:
            described = dirac_step(step, names)
            dirac_steps[step.name] = described
            pstep = production_step(described, digest, bodies[step.name], [prod_steps[p] for p in described.ParentStep])
            _value(client.addProductionStep(pstep), "addProductionStep", production.name, step.name)
            prod_steps[step.name] = pstep
            dirac_names[step.name] = pstep.Name  # renamed by the client: Step<N>_<name>
        # 2. the production, then start it (DIRAC validates every parent link here)
        _value(client.addProduction(production.name, json.dumps(client.prodDescription)), "addProduction",
               production.name)
        created.append(production.name)
        self.say(f"production {production.name}: {len(production.steps)} steps added")
        _value(client.startProduction(production.name), "startProduction", production.name)
        row = _value(client.getProduction(production.name), "getProduction", production.name)
        submitted = SubmittedProduction(production.name, int(row["ProductionID"]), "created", digest)
        # 3. read back what DIRAC stored
        self._check_stored(production, submitted, row, dirac_steps, dirac_names)
        self.say(f"production {production.name}: ID {submitted.production_id}, started, "
                 f"{len(submitted.steps)} transformations checked")
        return submitted

    def _transformations(self, production: PlannedProduction, prod_id: int) -> dict[str, dict]:
        """``{step name: transformation row}`` of a production (names are ``%08d_Step<N>_<step>``)."""
        links = _value(self.new_production_client().getProductionTransformations(production.name),
                       "getProductionTransformations", production.name)
        ids = [int(link["TransformationID"]) for link in links]
        rows = _value(self.trans.getTransformations({"TransformationID": ids}), "getTransformations",
                      production.name) if ids else []
        by_step = {}
        prefix = f"{prod_id:08d}_Step"
        for row in rows:
            tname = row["TransformationName"]
            if tname.startswith(prefix) and "_" in tname[len(prefix):]:
                by_step[tname[len(prefix):].split("_", 1)[1]] = row
        return by_step

    def _existing(self, production: PlannedProduction, row: dict, digest: str) -> SubmittedProduction:
        prod_id = int(row["ProductionID"])
        by_step = self._transformations(production, prod_id)
        stored = {digest_from_text(t.get("LongDescription")) for t in by_step.values()}
        if stored != {digest} or set(by_step) != {s.name for s in production.steps}:
            raise SubmissionError(
                f"a production of this name already exists (ID {prod_id}, status {row['Status']}) with other "
                "content: rename the production in the file, or clean the old one first",
                production.name,
            )
        self.say(f"production {production.name}: already submitted (ID {prod_id}), nothing created")
        return SubmittedProduction(
            production.name, prod_id, "existing", digest,
            [SubmittedStep(s.name, int(by_step[s.name]["TransformationID"]), by_step[s.name]["TransformationName"],
                           by_step[s.name]["Type"]) for s in production.steps],
        )  # fmt: skip

    def _check_stored(self, production: PlannedProduction, submitted: SubmittedProduction, row: dict,
                      dirac_steps: dict[str, DiracStep], dirac_names: dict[str, str]) -> None:
        problems: list[str] = []
        by_step = self._transformations(production, submitted.production_id)
        description = json.loads(row["Description"])
        for step in production.steps:
            trow = by_step.get(step.name)
            if trow is None:
                problems.append(f"step {step.name}: no transformation was created")
                continue
            tid = int(trow["TransformationID"])
            submitted.steps.append(SubmittedStep(step.name, tid, trow["TransformationName"], trow["Type"]))
            planned = dirac_steps[step.name]
            for key in ("Type", "Plugin"):
                if getattr(planned, key) != trow[key]:
                    problems.append(f"step {step.name}: {key} planned {getattr(planned, key)!r}, stored {trow[key]!r}")
            if float(planned.GroupSize) != float(trow["GroupSize"]):  # the TS keeps it as a float
                problems.append(f"step {step.name}: GroupSize planned {planned.GroupSize}, stored {trow['GroupSize']}")
            for kind, planned_query in (("Input", planned.Inputquery), ("Output", planned.Outputquery)):
                res = self.trans.getTransformationMetaQuery(tid, kind)
                stored_query = res["Value"] if res["OK"] else {}
                if planned_query is None and not stored_query:
                    continue
                for diff in query_differences(planned_query, stored_query):
                    problems.append(f"step {step.name}: {kind.lower()} query: {diff}")
            want_parents = sorted(dirac_names[p] for p in planned.ParentStep)
            have_parents = sorted(description.get(dirac_names[step.name], {}).get("parentStep", []))
            if want_parents != have_parents:
                problems.append(f"step {step.name}: parents planned {want_parents}, stored {have_parents}")
        if problems:
            raise SubmissionError("DIRAC stored something else than planned:\n  " + "\n  ".join(problems),
                                  production.name)

    def _create_directories(self, plan: Plan) -> None:
        dirs = output_directories(plan, self.base_path)
        if not dirs:
            return
        fc = self.catalog.catalog
        res = _value(fc.createDirectory([d.path for d in dirs]), "createDirectory")
        if res.get("Failed"):
            raise SubmissionError(f"createDirectory failed: {res['Failed']}")
        meta = {d.path: d.metadata for d in dirs if d.metadata}
        if meta:
            res = _value(fc.setMetadataBulk(meta), "setMetadataBulk")
            if isinstance(res, dict) and res.get("Failed"):
                raise SubmissionError(f"setMetadataBulk failed: {res['Failed']}")
        self.say(f"catalog: {len(dirs)} output directories with their metadata under {self.base_path}")
