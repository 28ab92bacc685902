"""Plots of the ProductionProgress monitoring type: files over time, stacked by the grouping the request names
(Status, Transformation, Production, ...)."""

from DIRAC import S_OK

from CTAODIRAC.Core.Monitoring.records import PROGRESS_KEY_FIELDS, PROGRESS_TYPE
from CTAODIRAC.MonitoringSystem.private.RecordsPlotter import RecordsPlotter


class ProductionProgressPlotter(RecordsPlotter):
    """Report ``NumberOfFiles``: in each time bucket, the average over the agent's cycles in it of the files
    selected (records are snapshots: one per transformation and file status per cycle)."""

    _typeName = PROGRESS_TYPE
    _typeKeyFields = list(PROGRESS_KEY_FIELDS)

    _reportNumberOfFilesName = "Files per status"

    def _reportNumberOfFiles(self, reportRequest):
        result = self._getTimedData(
            startTime=reportRequest["startTime"],
            endTime=reportRequest["endTime"],
            selectField="Files",
            preCondDict=reportRequest["condDict"],
            metadataDict=None,
        )
        if not result["OK"]:
            return result
        data, granularity = result["Value"]
        return S_OK({"data": data, "granularity": granularity})

    def _plotNumberOfFiles(self, reportRequest, plotInfo, filename):
        metadata = {
            "title": f"Files by {reportRequest['grouping']}",
            "starttime": reportRequest["startTime"],
            "endtime": reportRequest["endTime"],
            "span": plotInfo["granularity"],
            "skipEdgeColor": True,
            "ylabel": "files",
        }
        plotInfo["data"] = self._fillWithZero(
            granularity=plotInfo["granularity"],
            startEpoch=reportRequest["startTime"],
            endEpoch=reportRequest["endTime"],
            dataDict=plotInfo["data"],
        )
        return self._generateStackedLinePlot(filename=filename, dataDict=plotInfo["data"], metadata=metadata)
