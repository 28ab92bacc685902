#!/usr/bin/env bash
# The README's main job (after `make up`): the example campaign's plan, its submission to the local DIRAC,
# and what DIRAC now holds. Re-running submits nothing new: the productions are reported as existing.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(.venv/bin/dirac-ctao-local env)"
campaign=examples/ctapipe_campaign.yaml
echo "== the plan of $campaign (dry run)"
dirac-ctao-submit-production "$campaign"
echo "== submission to the local DIRAC"
dirac-ctao-submit-production "$campaign" --submit --output-json .local-dirac/demo-campaign.json
echo "== what DIRAC holds (dirac-prod-get-all; IDs also in .local-dirac/demo-campaign.json)"
dirac-prod-get-all
