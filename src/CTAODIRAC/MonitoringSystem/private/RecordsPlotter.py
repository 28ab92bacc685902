"""The base of this extension's plotters: a type with no records yet is plotted as "no data", not as an error.

A monitoring type's indices are made by its first record. Until then (e.g. no failure decision since the types were
switched on) OpenSearch answers a search of ``<type>-index*`` with no aggregations, and DIRAC's ``MonitoringDB``
raises ``KeyError`` of the aggregation's name (``end_data`` for simple aggregations, ``<field>_<grouping>`` for
bucketed ones): the Monitoring service would draw "Error while generating plot: 'end_data'". This module is not
named ``*Plotter.py``: DIRAC's Monitoring service does not take it for the plotter of a type.
"""

from DIRAC import S_OK
from DIRAC.MonitoringSystem.private.Plotters.BasePlotter import BasePlotter


class RecordsPlotter(BasePlotter):
    """A plotter whose timed data is empty (DIRAC draws "No data for this selection") while the type has no index."""

    def _getTimedData(self, startTime, endTime, selectField, preCondDict, metadataDict=None):
        try:
            return super()._getTimedData(startTime, endTime, selectField, preCondDict, metadataDict)
        except KeyError as exc:
            missing = {"end_data", f"{selectField}_{preCondDict['grouping'][0]}"}
            if not (exc.args and exc.args[0] in missing):
                raise
        result = self._determineBucketSize(startTime, endTime)
        if not result["OK"]:
            return result
        return S_OK(({}, result["Value"][1]))
