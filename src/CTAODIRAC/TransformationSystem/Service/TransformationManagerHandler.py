"""DIRAC's TransformationManager with one thing configurable: how old a task must be before it is handed out.

DIRAC 9.1's ``getTasksToSubmit`` gives the WorkflowTaskAgent only tasks created more than 30 seconds ago, a
fixed margin against reading a task before the TransformationAgent has finished writing it (its row first, then
its files, in separate statements). Every task of a production waits those 30 s, on each level of a chain of
transformations. This handler, found by DIRAC before its own because extensions come first, reads the margin
from the service's option ``TaskSubmissionDelay`` (seconds, default 30: DIRAC's behaviour) and otherwise does
what DIRAC's does: the Created tasks older than the margin are reserved one by one and returned with the
transformation's parameters. Everything else is DIRAC's handler, unchanged.
"""

from __future__ import annotations

import datetime

from DIRAC import S_OK
from DIRAC.Core.Utilities.TimeUtilities import DiracTime
from DIRAC.TransformationSystem.Service.TransformationManagerHandler import (
    TransformationManagerHandler as DIRACTransformationManagerHandler,
)

#: DIRAC's fixed margin, kept as the default.
DEFAULT_TASK_SUBMISSION_DELAY = 30


class TransformationManagerHandler(DIRACTransformationManagerHandler):
    types_getTasksToSubmit = [[int, str], int]

    def export_getTasksToSubmit(self, transName, numTasks, site=""):
        """The transformation's parameters with ``JobDictionary``: up to ``numTasks`` Created tasks older than
        ``TaskSubmissionDelay`` seconds, each reserved (status Reserved) before it is returned."""
        found = self.transformationDB.getTransformation(transName)
        if not found["OK"]:
            return found
        transformation = found["Value"]
        delay = max(0.0, float(self.srv_getCSOption("TaskSubmissionDelay", DEFAULT_TASK_SUBMISSION_DELAY)))
        older = DiracTime.utcnow() - datetime.timedelta(seconds=delay)
        tasks = self.transformationDB.getTasksForSubmission(
            transName, numTasks=numTasks, site=site, statusList=["Created"], older=older
        )
        if not tasks["OK"]:
            return tasks
        reserved = {}
        for task_id, task in tasks["Value"].items():
            result = self.transformationDB.reserveTask(transName, int(task_id))
            if not result["OK"]:
                return result
            reserved[task_id] = task
        transformation["JobDictionary"] = reserved
        return S_OK(transformation)
