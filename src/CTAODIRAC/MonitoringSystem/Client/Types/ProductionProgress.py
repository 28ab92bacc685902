"""ProductionProgress: the files of each transformation per status, over time (docs/monitoring.md).

At each cycle of the failure-management agent, one record per transformation it looks at (and, once more, per
transformation that left its scope since the last cycle, e.g. one that completed) and per file status with files
in it: production, transformation, its type and status, the file status; ``Files`` is the number of files.
The fields are defined once, in ``CTAODIRAC.Core.Monitoring.records``.
"""

from DIRAC.MonitoringSystem.Client.Types.BaseType import BaseType

from CTAODIRAC.Core.Monitoring.records import PROGRESS_KEY_FIELDS, PROGRESS_MONITORING_FIELDS


class ProductionProgress(BaseType):
    """Files per status per transformation, in indices ``productionprogress-index-<day>``."""

    def __init__(self):
        super().__init__()
        self.keyFields = list(PROGRESS_KEY_FIELDS)
        self.monitoringFields = list(PROGRESS_MONITORING_FIELDS)
        self.addMapping(
            {
                **{field: {"type": "keyword"} for field in PROGRESS_KEY_FIELDS},
                **{field: {"type": "long"} for field in PROGRESS_MONITORING_FIELDS},
            }
        )
        self.checkType()
