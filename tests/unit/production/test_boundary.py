"""The production core and the dry run never import DIRAC (checked in a fresh interpreter)."""

from __future__ import annotations

from .conftest import EXAMPLES


def test_core_and_dry_run_do_not_import_dirac(dry_run_without_dirac) -> None:
    plan = dry_run_without_dirac(str(EXAMPLES / "ctapipe_campaign.yaml"), "CTAODIRAC.Core.Production")
    assert '"productions"' in plan
