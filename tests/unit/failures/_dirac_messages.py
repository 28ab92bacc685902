"""Collect, from the installed DIRAC's own sources, the statuses it gives a job that fails or is killed.

Test support only (never shipped in the package). DIRAC sets a failed job's attributes in a handful of ways;
each is read here with :mod:`ast`, not by matching text, so that a DIRAC upgrade that adds, changes or drops
a message changes what is collected:

- calls that set a job's status: ``__report(status=..., minorStatus=...)`` (JobWrapper),
  ``jobReport.setJobStatus(...)`` (JobWrapper, JobAgent, PushJobAgent), ``jobdb.setJobStatus(jobID, status,
  minor)`` (JobDB, kills), ``_updateJobStatus`` (StalledJobAgent), ``jobState.setStatus(major, minor, app)``
  (optimizers), ``stateServer.setJobStatus(...)`` (RMS), ``__updateJobStatus`` (DataRecoveryAgent);
- the job attributes written as a dict (``jobAttrs["Status"] = ...`` with ``jobAttrs["MinorStatus"] = ...``
  in the same block: JobDB's JDL syntax error);
- reschedules: DIRAC's job wrapper (``rescheduleFailedJob(jobID, minorStatus)``) and JobAgent
  (``_rescheduleFailedJob(jobID, message)``) set ApplicationStatus to the cause and ask the JobManager to
  reschedule; on the last allowed attempt JobDB fails the job with ``Maximum of reschedulings reached`` and
  that ApplicationStatus stays: that is the failure the agent sees;
- the Watchdog's reasons (``S_ERROR`` of its ``_check*`` methods and ``self.checkError = ...``), which the job
  wrapper reports as the MinorStatus of a Failed job (``watchdogError``);
- the optimizers: ``OptimizerExecutor.processTask`` fails a job with MinorStatus ``<Name> optimizer`` and the
  optimizer's error as ApplicationStatus; the messages are the ``S_ERROR`` literals of each optimizer module,
  plus one entry per optimizer for an error it only passes on (:data:`PASSED_ON`).

An argument is resolved to its possible values: string constants, ``JobStatus.X`` / ``JobMinorStatus.X``
(imported from DIRAC), f-strings and ``%`` formats (kept as templates: ``{expression}`` / ``%d``), local
variables (every value assigned to them in the function), ``self.attr[i]`` of a tuple assigned in the module,
and ``result["Message"]`` of ``result = self.method(...)`` (the ``S_ERROR`` messages of that method). What
cannot be resolved is kept as ``{expression}``. Only events with status Failed or Killed and a MinorStatus
are kept (an empty MinorStatus leaves the previous one; other statuses are not failures).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FAILED = "Failed"
KILLED = "Killed"
MAX_RESCHEDULINGS = "Maximum of reschedulings reached"
#: ApplicationStatus of an optimizer error that is passed on from elsewhere (a DB, a service).
PASSED_ON = "{passed-on error}"

#: DIRAC source files (relative to the DIRAC package) whose calls set a job's status.
STATUS_SOURCES = (
    "WorkloadManagementSystem/JobWrapper/JobWrapper.py",
    "WorkloadManagementSystem/JobWrapper/JobWrapperUtilities.py",
    "WorkloadManagementSystem/JobWrapper/JobWrapperTemplate.py",
    "WorkloadManagementSystem/JobWrapper/JobWrapperOfflineTemplate.py",
    "WorkloadManagementSystem/Agent/JobAgent.py",
    "WorkloadManagementSystem/Agent/PushJobAgent.py",
    "WorkloadManagementSystem/Agent/StalledJobAgent.py",
    "WorkloadManagementSystem/Agent/JobCleaningAgent.py",
    "WorkloadManagementSystem/Agent/PilotStatusAgent.py",
    "WorkloadManagementSystem/DB/JobDB.py",
    "WorkloadManagementSystem/DB/StatusUtils.py",
    "WorkloadManagementSystem/Service/JobManagerHandler.py",
    "WorkloadManagementSystem/Service/JobPolicy.py",
    "WorkloadManagementSystem/Service/JobStateUpdateHandler.py",
    "WorkloadManagementSystem/Utilities/JobStatusUtility.py",
    "WorkloadManagementSystem/Executor/Base/OptimizerExecutor.py",
    "RequestManagementSystem/Client/ReqClient.py",
    "TransformationSystem/Utilities/TransformationInfo.py",
)
WATCHDOG_SOURCE = "WorkloadManagementSystem/JobWrapper/Watchdog.py"
OPTIMIZER_DIR = "WorkloadManagementSystem/Executor"

#: Calls that set a job status, by the called name: how their positional arguments are laid out.
#: "job": (jobID, status, minor, ...) with the job ID first; "state": (status, minor, app).
_SETTERS = {
    "__report": "state",
    "setJobStatus": "job",
    "_updateJobStatus": "job",
    "__updateJobStatus": "job",
    "setStatus": "state",
}
_STATUS_KEYWORDS = ("status", "majorStatus")
_MINOR_KEYWORDS = ("minorStatus",)
_APP_KEYWORDS = ("applicationStatus", "appStatus")


@dataclass(frozen=True, order=True)
class Event:
    """One (Status, MinorStatus, ApplicationStatus) DIRAC can leave on a failed or killed job."""

    status: str
    minor_status: str
    application_status: str
    source: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.status, self.minor_status, self.application_status)


def dirac_root() -> Path:
    import DIRAC

    return Path(DIRAC.__file__).parent


def _constants(module_name: str) -> dict[str, str]:
    module = importlib.import_module(module_name)
    return {name: value for name, value in vars(module).items() if name.isupper() and isinstance(value, str)}


def minor_status_constants() -> dict[str, str]:
    """DIRAC's ``JobMinorStatus`` constants (name -> value), imported."""
    return _constants("DIRAC.WorkloadManagementSystem.Client.JobMinorStatus")


def job_statuses() -> list[str]:
    """DIRAC's job statuses (``JobStatus.JOB_STATES``), imported."""
    return list(importlib.import_module("DIRAC.WorkloadManagementSystem.Client.JobStatus").JOB_STATES)


_MODULE_CONSTANTS = {
    "JobStatus": lambda: _constants("DIRAC.WorkloadManagementSystem.Client.JobStatus"),
    "JobMinorStatus": minor_status_constants,
}


class _Module:
    """One parsed source file, with what resolution needs: parents, functions, classes."""

    def __init__(self, path: Path, label: str):
        self.label = label
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.parent: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
        self.constants = {name: loader() for name, loader in _MODULE_CONSTANTS.items()}

    def enclosing(self, node: ast.AST, kinds: tuple[type, ...]) -> ast.AST | None:
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, kinds):
                return node
        return None

    def methods(self, name: str) -> Iterator[ast.FunctionDef]:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                yield node

    # ------------------------------------------------------------------------------------------ resolution

    def resolve(self, expr: ast.AST | None, scope: ast.AST | None, depth: int = 0) -> set[str]:
        """The strings ``expr`` can be (templates for what is computed); empty for non-strings."""
        if expr is None or depth > 6:
            return set()
        if isinstance(expr, ast.Constant):
            return {expr.value} if isinstance(expr.value, str) else set()
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in self.constants:
            value = self.constants[expr.value.id].get(expr.attr)
            return {value} if value is not None else {f"{{{ast.unparse(expr)}}}"}
        if isinstance(expr, ast.JoinedStr):
            parts = []
            for value in expr.values:
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                else:
                    parts.append(f"{{{ast.unparse(value.value)}}}")
            return {"".join(parts)}
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod) and isinstance(expr.left, ast.Constant):
            return {str(expr.left.value)}
        if isinstance(expr, ast.Name):
            return self._resolve_name(expr.id, scope, depth)
        if isinstance(expr, ast.Subscript):
            return self._resolve_subscript(expr, scope, depth)
        if isinstance(expr, ast.IfExp):
            return self.resolve(expr.body, scope, depth + 1) | self.resolve(expr.orelse, scope, depth + 1)
        return {f"{{{ast.unparse(expr)}}}"}

    def _resolve_name(self, name: str, scope: ast.AST | None, depth: int) -> set[str]:
        if scope is None:
            return {f"{{{name}}}"}
        values: set[str] = set()
        assigned = False
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                assigned = True
                values |= self.resolve(node.value, scope, depth + 1)
            elif isinstance(node, ast.NamedExpr) and node.target.id == name:
                assigned = True
                values |= self.resolve(node.value, scope, depth + 1)
        return values if assigned else {f"{{{name}}}"}

    def _resolve_subscript(self, expr: ast.Subscript, scope: ast.AST | None, depth: int) -> set[str]:
        # self.attr[i] where self.attr = (tuple) somewhere in the module
        if (
            isinstance(expr.value, ast.Attribute)
            and isinstance(expr.value.value, ast.Name)
            and expr.value.value.id == "self"
            and isinstance(expr.slice, ast.Constant)
            and isinstance(expr.slice.value, int)
        ):
            for node in ast.walk(self.tree):
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, (ast.Tuple, ast.List))
                    and any(ast.unparse(t) == ast.unparse(expr.value) for t in node.targets)
                ):
                    function = self.enclosing(node, (ast.FunctionDef,))
                    return self.resolve(node.value.elts[expr.slice.value], function, depth + 1)
        # result["Message"] where result = self.method(...): the S_ERROR messages of that method
        if (
            isinstance(expr.value, ast.Name)
            and isinstance(expr.slice, ast.Constant)
            and expr.slice.value == "Message"
            and scope is not None
        ):
            # the last assignment of that name before the use (``result`` is reused for many calls)
            latest = None
            for node in ast.walk(scope):
                if (
                    isinstance(node, ast.Assign)
                    and node.lineno < expr.lineno
                    and any(isinstance(t, ast.Name) and t.id == expr.value.id for t in node.targets)
                    and (latest is None or node.lineno > latest.lineno)
                ):
                    latest = node
            values: set[str] = set()
            if (
                latest is not None
                and isinstance(latest.value, ast.Call)
                and isinstance(latest.value.func, ast.Attribute)
                and isinstance(latest.value.func.value, ast.Name)
                and latest.value.func.value.id == "self"
            ):
                for method in self.methods(latest.value.func.attr):
                    values |= self.error_messages(method, depth + 1)
            if values:
                return values
        return {f"{{{ast.unparse(expr)}}}"}

    def error_messages(self, function: ast.AST, depth: int = 0) -> set[str]:
        """The messages of the ``S_ERROR(...)`` calls in ``function``."""
        messages: set[str] = set()
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "S_ERROR":
                if node.args:
                    messages |= self.resolve(node.args[-1], function, depth)
        return messages


def _keyword(call: ast.Call, names: tuple[str, ...]) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg in names:
            return keyword.value
    return None


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _setter_arguments(module: _Module, call: ast.Call, layout: str, scope) -> tuple[ast.AST | None, ...]:
    """(status, minor, app) expressions of a status-setting call."""
    positional = list(call.args)
    if layout == "job" and positional:
        first = module.resolve(positional[0], scope)
        statuses = set(module.constants["JobStatus"].values())
        if not first & statuses:
            positional = positional[1:]  # the job ID
    status = _keyword(call, _STATUS_KEYWORDS) or (positional[0] if len(positional) > 0 else None)
    minor = _keyword(call, _MINOR_KEYWORDS) or (positional[1] if len(positional) > 1 else None)
    # after (status, minor) a job-ID setter takes the source (JobStateUpdateClient) or force: never the app
    app = _keyword(call, _APP_KEYWORDS) or (positional[2] if layout == "state" and len(positional) > 2 else None)
    return status, minor, app


def _events_of_module(module: _Module, indirections: dict[str, set[str]]) -> Iterator[Event]:
    for node in ast.walk(module.tree):
        scope = module.enclosing(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        if isinstance(node, ast.Call):
            name = _called_name(node)
            where = f"{module.label}:{node.lineno}"
            if name in _SETTERS:
                status_expr, minor_expr, app_expr = _setter_arguments(module, node, _SETTERS[name], scope)
                statuses = module.resolve(status_expr, scope)
                minors = _expand(module.resolve(minor_expr, scope), indirections)
                apps = module.resolve(app_expr, scope) if app_expr is not None else {""}
                for status in statuses:
                    for minor in minors:
                        for app in apps:
                            yield Event(status, minor, app, where)
            elif name == "rescheduleFailedJob":
                cause = _keyword(node, ("minorStatus",)) or (node.args[1] if len(node.args) > 1 else None)
                for minor in module.resolve(cause, scope):
                    yield Event(FAILED, MAX_RESCHEDULINGS, f"Failed {minor} ", where)
            elif name == "_rescheduleFailedJob":
                cause = _keyword(node, ("message",)) or (node.args[1] if len(node.args) > 1 else None)
                for message in module.resolve(cause, scope):
                    yield Event(FAILED, MAX_RESCHEDULINGS, message, where)
        elif isinstance(node, ast.Assign):
            yield from _dict_events(module, node, scope)


def _dict_events(module: _Module, node: ast.Assign, scope) -> Iterator[Event]:
    """``x["Status"] = FAILED`` and ``x["MinorStatus"] = ...`` in the same block of statements."""
    for target in node.targets:
        if not (
            isinstance(target, ast.Subscript)
            and isinstance(target.slice, ast.Constant)
            and target.slice.value == "Status"
        ):
            continue
        block = module.parent.get(node)
        body = next(
            (
                getattr(block, field)
                for field in ("body", "orelse", "finalbody")
                if node in getattr(block, field, [])
            ),
            [],
        )
        statuses = module.resolve(node.value, scope)
        for sibling in body:
            if not isinstance(sibling, ast.Assign):
                continue
            for other in sibling.targets:
                if (
                    isinstance(other, ast.Subscript)
                    and isinstance(other.slice, ast.Constant)
                    and other.slice.value == "MinorStatus"
                    and ast.unparse(other.value) == ast.unparse(target.value)
                ):
                    for status in statuses:
                        for minor in module.resolve(sibling.value, scope):
                            yield Event(status, minor, "", f"{module.label}:{sibling.lineno}")


def _expand(values: set[str], indirections: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    for value in values:
        out |= indirections.get(value, {value})
    return out


def watchdog_messages(root: Path | None = None) -> set[str]:
    """What the Watchdog can give as the reason it killed the payload (the wrapper's ``watchdogError``)."""
    root = root or dirac_root()
    module = _Module(root / WATCHDOG_SOURCE, WATCHDOG_SOURCE)
    messages: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.FunctionDef) and re.match(r"_{1,2}check", node.name):
            messages |= module.error_messages(node)
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == "self.checkError" for t in node.targets):
            if not isinstance(node.value, ast.Subscript):  # result["Message"]: the checks' messages above
                messages |= {m for m in module.resolve(node.value, None) if m}
    return messages


STAGER_SOURCE = "StorageManagementSystem/Client/StorageManagerClient.py"


def absent_input_reasons(root: Path | None = None) -> set[str]:
    """Why JobScheduling fails a production job whose input is missing (``getFilesToStage``'s ``absentLFNs``).

    The optimizer joins these reasons (``S_ERROR(errno.ENOENT, ...)["Message"]``) into its error; they are
    rendered as DIRAC renders an errno message: ``No such file or directory ( 2 : <text>)``.
    """
    root = root or dirac_root()
    module = _Module(root / STAGER_SOURCE, STAGER_SOURCE)
    reasons: set[str] = set()
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "S_ERROR"
            and len(node.args) == 2
            and ast.unparse(node.args[0]) == "errno.ENOENT"
        ):
            for text in module.resolve(node.args[1], None):
                reasons.add(f"No such file or directory ( 2 : {text})")
    return reasons


#: JobScheduling's error for missing input, as its source writes it (resolved by :func:`absent_input_reasons`).
_JOINED_REASONS = "{','.join(reasons)}"


def optimizer_messages(root: Path | None = None) -> dict[str, set[str]]:
    """Each optimizer (a module of ``Executor/`` with an ``optimizeJob``) and the errors it can fail a job with."""
    root = root or dirac_root()
    out: dict[str, set[str]] = {}
    for path in sorted((root / OPTIMIZER_DIR).glob("*.py")):
        label = str(path.relative_to(root))
        module = _Module(path, label)
        if not any(True for _ in module.methods("optimizeJob")):
            continue
        messages = {PASSED_ON}
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef):
                messages |= module.error_messages(node)
        if _JOINED_REASONS in messages:
            messages = (messages - {_JOINED_REASONS}) | absent_input_reasons(root)
        out[path.stem] = messages
    return out


def collect_events(root: Path | None = None) -> list[Event]:
    """Every (Status, MinorStatus, ApplicationStatus) the installed DIRAC leaves on a Failed or Killed job."""
    root = root or dirac_root()
    optimizers = optimizer_messages(root)
    indirections = {"{watchdogError}": watchdog_messages(root)}
    events: list[Event] = []
    for label in STATUS_SOURCES:
        path = root / label
        if not path.exists():
            raise FileNotFoundError(f"DIRAC source {label} is gone: update STATUS_SOURCES")
        module = _Module(path, label)
        for event in _events_of_module(module, indirections):
            if event.status not in (FAILED, KILLED) or not event.minor_status:
                continue
            if "{self.ex_optimizerName()}" in event.minor_status:
                for name, messages in optimizers.items():
                    minor = event.minor_status.replace("{self.ex_optimizerName()}", name)
                    events.extend(Event(event.status, minor, message, event.source) for message in messages)
                continue
            events.append(event)
    for message in watchdog_messages(root):
        events.append(Event(FAILED, message, "", WATCHDOG_SOURCE))
    return sorted(set(events))


def collected_keys(root: Path | None = None) -> dict[tuple[str, str, str], list[str]]:
    """The collected keys and, for each, where DIRAC sets it."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for event in collect_events(root):
        out.setdefault(event.key, []).append(event.source)
    return out


_PLACEHOLDER = re.compile(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|%[ds]")


def sample(text: str) -> str:
    """A concrete string for a template: each ``{expression}`` or ``%d`` replaced by a plain value."""
    return _PLACEHOLDER.sub("12345", text)
