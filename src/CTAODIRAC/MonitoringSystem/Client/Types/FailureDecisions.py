"""FailureDecisions: the decisions of the failure-management agent (docs/monitoring.md).

One record per decision: when (the agent's cycle), which production and transformation (and its type), the
action (retry, give-up, leave, avoid-site, flush, complete, complete-production, beyond-limit), the failure class
and rule, the site of the failed job, whether the agent acted or only reported, which agent; ``Decisions`` (1)
and ``Files`` (the files the decision is about) are summed by the plots. The fields are defined once, in
``CTAODIRAC.Core.Monitoring.records``.
"""

from DIRAC.MonitoringSystem.Client.Types.BaseType import BaseType

from CTAODIRAC.Core.Monitoring.records import DECISION_KEY_FIELDS, DECISION_MONITORING_FIELDS


class FailureDecisions(BaseType):
    """The failure agent's decisions, in indices ``failuredecisions-index-<day>``."""

    def __init__(self):
        super().__init__()
        self.keyFields = list(DECISION_KEY_FIELDS)
        self.monitoringFields = list(DECISION_MONITORING_FIELDS)
        self.addMapping(
            {
                **{field: {"type": "keyword"} for field in DECISION_KEY_FIELDS},
                **{field: {"type": "long"} for field in DECISION_MONITORING_FIELDS},
            }
        )
        self.checkType()
