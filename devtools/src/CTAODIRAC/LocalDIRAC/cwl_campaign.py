"""The CWL twin of the example campaign (``examples/cwl/ctapipe_campaign.cwl``) in the reduced size the local
campaign runs (``dirac-ctao-local campaign --cwl``): the same changes :func:`CTAODIRAC.LocalDIRAC.campaign.
reduced_campaign` makes to the YAML file (a campaign name of its own, one input file per task, two for the
classifier, one processor per job), made to the CWL workflow, whose tools are then referred to by absolute path
(the reduced workflow is written elsewhere). Its jobs run the workflow's CommandLineTools with cwltool."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["reduced_cwl_campaign", "reduced_cwl_plan"]


def reduced_cwl_campaign(text: str, campaign: str, tools: Path) -> str:
    """The reduced text of ``examples/cwl/ctapipe_campaign.cwl`` (``tools``: the directory of its tools)."""
    text = text.replace("MCCampaign: Prod6", f"MCCampaign: {campaign}")
    text = re.sub(r"(?m)^(\s+production: )([\w.-]+)$", rf"\g<1>\g<2>-{campaign.lower()}", text)
    text = re.sub(r"(?m)^(\s+group_size: )\d+.*$", r"\g<1>1", text)
    text = re.sub(r"(?m)^\s+processors: \d+\n", "", text)  # the local computing element has one slot
    text = re.sub(r"(?m)^(\s+- \{class: dirac:Step, .*)group_size: \d+\}$", r"\g<1>group_size: 1}", text)
    classifier = "        production: classifier-" + campaign.lower() + "\n"
    text = text.replace(classifier, classifier + "        group_size: 2\n")
    return text.replace("run: tools/", f"run: {tools}/")


def reduced_cwl_plan(repo: Path, campaign: str) -> Any:
    """The plan of the reduced CWL campaign (read from a file of its own, named after the campaign)."""
    from CTAODIRAC.Core.Production.loader import load_plan

    source = repo / "examples" / "cwl" / "ctapipe_campaign.cwl"
    directory = Path(tempfile.mkdtemp(prefix="cwl-campaign-"))
    path = directory / f"{campaign}.cwl"
    path.write_text(reduced_cwl_campaign(source.read_text(), campaign, source.parent.resolve() / "tools"))
    try:
        return load_plan(path)  # the plan holds the tools themselves: the file is not needed afterwards
    finally:
        shutil.rmtree(directory, ignore_errors=True)
