"""Plots of the FailureDecisions monitoring type: decisions and their files per time bucket, stacked by the
grouping the request names (Action, Class, Site, Production, ...)."""

from DIRAC import S_OK

from CTAODIRAC.Core.Monitoring.records import DECISION_KEY_FIELDS, DECISIONS_TYPE
from CTAODIRAC.MonitoringSystem.private.RecordsPlotter import RecordsPlotter


class FailureDecisionsPlotter(RecordsPlotter):
    """Reports ``NumberOfDecisions`` and ``NumberOfFiles``: sums over each time bucket (decisions are events)."""

    _typeName = DECISIONS_TYPE
    _typeKeyFields = list(DECISION_KEY_FIELDS)

    def _sums(self, reportRequest, field, unit):
        result = self._getTimedData(
            startTime=reportRequest["startTime"],
            endTime=reportRequest["endTime"],
            selectField=field,
            preCondDict=reportRequest["condDict"],
            metadataDict={"DynamicBucketing": False, "metric": "sum"},
        )
        if not result["OK"]:
            return result
        data, granularity = result["Value"]
        return S_OK({"data": data, "granularity": granularity, "unit": unit})

    def _bars(self, reportRequest, plotInfo, filename, title):
        metadata = {
            "title": f"{title} by {reportRequest['grouping']}",
            "starttime": reportRequest["startTime"],
            "endtime": reportRequest["endTime"],
            "span": plotInfo["granularity"],
            "skipEdgeColor": True,
            "ylabel": plotInfo["unit"],
        }
        plotInfo["data"] = self._fillWithZero(
            granularity=plotInfo["granularity"],
            startEpoch=reportRequest["startTime"],
            endEpoch=reportRequest["endTime"],
            dataDict=plotInfo["data"],
        )
        return self._generateTimedStackedBarPlot(filename=filename, dataDict=plotInfo["data"], metadata=metadata)

    _reportNumberOfDecisionsName = "Failure-agent decisions"

    def _reportNumberOfDecisions(self, reportRequest):
        return self._sums(reportRequest, "Decisions", "decisions")

    def _plotNumberOfDecisions(self, reportRequest, plotInfo, filename):
        return self._bars(reportRequest, plotInfo, filename, "Failure-agent decisions")

    _reportNumberOfFilesName = "Files in failure-agent decisions"

    def _reportNumberOfFiles(self, reportRequest):
        return self._sums(reportRequest, "Files", "files")

    def _plotNumberOfFiles(self, reportRequest, plotInfo, filename):
        return self._bars(reportRequest, plotInfo, filename, "Files in failure-agent decisions")
