"""A campaign's report: what its productions did, where the time went, and what its DL2 says.

Pure parts (no DIRAC; ``CTAODIRAC.Core``'s admission rule): :mod:`.data` (what is reported, as plain data that
round-trips through JSON), :mod:`.timing` (a job's phases from DIRAC's logging records), :mod:`.tables` (the rows
of the summary tables), :mod:`.timeline` and :mod:`.graph` (the layouts of the two pictures), :mod:`.dl2`
(energy resolution, bias and ROC from DL2 columns; its ``main`` reads DL2 files with ctapipe, in the payload
environment). Drawing: :mod:`.plots` (matplotlib, imported when drawing), :mod:`.render` (rich tables),
:mod:`.page` (the PNG files and the HTML page). Reading DIRAC:
``CTAODIRAC.ProductionSystem.Client.CampaignReader``. See docs/campaign-report.md.
"""
