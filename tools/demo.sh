#!/usr/bin/env bash
# The README's main job (after `make up`): the example campaign's plan, then the campaign itself run end to
# end on the local DIRAC, from toy DL0 to DL2 (reduced size), driven by DIRAC's agents and ours, with its
# progress, then its tables and report (docs/campaign-report.md). Without the ctapipe environment (no Python 3.12
# at install), the full example is submitted instead (its jobs then have nothing to run them with) and what DIRAC
# holds is shown.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(.venv/bin/dirac-ctao-local env)"
campaign=examples/ctapipe_campaign.yaml
echo "== the plan of $campaign (dry run)"
dirac-ctao-submit-production "$campaign"
if [ -x .venv-ctapipe/bin/ctapipe-process ]; then
  echo "== the campaign end to end on the local DIRAC: toy DL0 -> ctapipe-process -> merge -> merge -> train ->"
  echo "   apply (reduced size; each run is a new campaign of its own name; ~5-6 min on 2 cores)"
  .venv/bin/dirac-ctao-local campaign "$@"
else
  echo "== no .venv-ctapipe (make install makes it when a Python 3.12 exists): submitting the example only"
  dirac-ctao-submit-production "$campaign" --submit --output-json .local-dirac/demo-campaign.json
  echo "== what DIRAC holds (dirac-prod-get-all; IDs also in .local-dirac/demo-campaign.json)"
  dirac-prod-get-all
fi
