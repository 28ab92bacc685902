"""Failure management, the pure core: classify failed jobs and decide what to do about them.

Nothing here imports DIRAC, reads DIRAC's configuration or logs; the agent
(``CTAODIRAC.TransformationSystem.Agent``) gathers the facts, calls :func:`decide`, records and applies the
decisions. See ``docs/failure-management.md``.

- :mod:`.classes`: the failure classes;
- :mod:`.rules`: the rule table (built-in rules, CS overrides, :meth:`RuleTable.classify`);
- :mod:`.facts`, :mod:`.decisions`, :mod:`.policy`: what the policy decides on, what it returns, how;
- :mod:`.options`: the agent's options;
- :mod:`.statuses`: DIRAC's status names and file state machine, as plain data.
"""

from __future__ import annotations

from .classes import FailureClass
from .decisions import Decision, DecisionKind, FileChange, count_failures, failure_key, filter_new
from .errors import FailureError, OptionsError, RuleConfigError
from .facts import CycleFacts, FileFacts, JobFacts, ProductionFacts, TaskFacts, TransformationFacts
from .options import FailureAgentOptions
from .policy import decide, job_is_settled
from .rules import (
    DEFAULT_RULES,
    NO_MATCH_RULE,
    Rule,
    RuleTable,
    build_rule_table,
    default_rule_table,
    rule_table_from_cs,
)

__all__ = [
    "DEFAULT_RULES",
    "NO_MATCH_RULE",
    "CycleFacts",
    "Decision",
    "DecisionKind",
    "FailureAgentOptions",
    "FailureClass",
    "FailureError",
    "FileChange",
    "FileFacts",
    "JobFacts",
    "OptionsError",
    "ProductionFacts",
    "Rule",
    "RuleConfigError",
    "RuleTable",
    "TaskFacts",
    "TransformationFacts",
    "build_rule_table",
    "classify",
    "count_failures",
    "decide",
    "default_rule_table",
    "failure_key",
    "filter_new",
    "job_is_settled",
    "rule_table_from_cs",
]


def classify(job: JobFacts, table: RuleTable | None = None) -> tuple[FailureClass, str]:
    """The failure class of ``job`` and the name of the rule that decided it (built-in rules by default)."""
    return (table or default_rule_table()).classify(job)
