"""The job side's storing of outputs around DIRAC's failures (stubs of DIRAC's FailoverTransfer, FileCatalogClient
and DataManager: the logic only; the integration tests store real files on the local DIRAC): metadata set again
while the catalog fails, and what a failing job stored withdrawn, so that its retry leaves no orphan that a
child transformation would process twice (seen in the chaos campaign: the catalog's database restarted between
a job's upload and its metadata)."""

from __future__ import annotations

from typing import Any

from CTAODIRAC.Core.JobSide import SEND_PAUSES
from CTAODIRAC.WorkloadManagementSystem.Client.JobSideUtilities import set_metadata, store_output, withdraw_outputs


def ok(value: Any = None) -> dict[str, Any]:
    return {"OK": True, "Value": value}


def error(message: str) -> dict[str, Any]:
    return {"OK": False, "Message": message}


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def warn(self, *args: Any) -> None:
        self.lines.append(("warn", " ".join(map(str, args))))

    def error(self, *args: Any) -> None:
        self.lines.append(("error", " ".join(map(str, args))))


class Catalog:
    """setMetadata fails ``failures`` times (a restarting database), then works."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.metadata: dict[str, dict[str, Any]] = {}

    def setMetadata(self, path: str, meta: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - DIRAC's name
        if self.failures:
            self.failures -= 1
            return error("Failed to determine the path type")
        self.metadata[path] = meta
        return ok()


class Transfer:
    """Stores to the SE (or, when ``banned``, only to a failover SE)."""

    def __init__(self, banned: bool = False) -> None:
        self.banned = banned
        self.registered: list[str] = []

    def transferAndRegisterFile(self, name, path, lfn, ses, meta):  # noqa: N802 - DIRAC's name
        if self.banned:
            return error("Write access not currently permitted")
        self.registered.append(lfn)
        return ok()

    def transferAndRegisterFileFailover(self, name, path, lfn, se, failover_ses, meta):  # noqa: N802
        self.registered.append(lfn)
        return ok()


class Remover:
    """DataManager.removeFile: fails whole ``failures`` times, then removes."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[list[str], bool]] = []
        self.removed: list[str] = []

    def removeFile(self, lfns, force=None):  # noqa: N802 - DIRAC's name
        self.calls.append((list(lfns), force))
        if self.failures:
            self.failures -= 1
            return error("Connection refused")
        self.removed += list(lfns)
        return ok({"Successful": dict.fromkeys(lfns, True), "Failed": {}})


def test_metadata_is_set_again_while_the_catalog_fails(tmp_path):
    waits: list[float] = []
    catalog = Catalog(failures=2)
    assert set_metadata(catalog, "/f", {"run": 1}, Log(), waits.append)
    assert catalog.metadata == {"/f": {"run": 1}} and waits == list(SEND_PAUSES[:2])


def test_an_output_whose_metadata_cannot_be_set_is_withdrawn(tmp_path):
    (tmp_path / "out.h5").write_text("x")
    catalog, transfer, remover, log = Catalog(failures=99), Transfer(banned=True), Remover(), Log()
    waits: list[float] = []
    result = store_output(transfer, catalog, str(tmp_path / "out.h5"), "/o/1/out.h5", "SE", ["Failover-SE"],
                          {"run": 1}, log, waits.append, remover)  # fmt: skip
    assert result == "failed"
    assert transfer.registered == ["/o/1/out.h5"]  # it was stored (at the failover SE) ...
    assert remover.removed == ["/o/1/out.h5"] and remover.calls[0][1] is True  # ... and is removed again
    assert len(waits) == len(SEND_PAUSES)  # the metadata was tried once per pause, and once more


def test_a_stored_output_keeps_its_metadata_after_a_short_catalog_outage(tmp_path):
    (tmp_path / "out.h5").write_text("x")
    catalog, remover = Catalog(failures=1), Remover()
    result = store_output(Transfer(), catalog, str(tmp_path / "out.h5"), "/o/1/out.h5", "SE", [], {"run": 7},
                          Log(), lambda _s: None, remover)  # fmt: skip
    assert result == "registered" and catalog.metadata["/o/1/out.h5"] == {"run": 7} and remover.calls == []


def test_withdrawing_is_tried_again_and_says_what_is_left():
    remover, log, waits = Remover(failures=2), Log(), []
    assert withdraw_outputs(["/b", "/a", "/a"], log, waits.append, remover) == []
    assert remover.removed == ["/a", "/b"] and len(remover.calls) == 3
    never, log = Remover(failures=99), Log()
    assert withdraw_outputs(["/a"], log, lambda _s: None, never) == ["/a"]
    assert ("error", "Output left behind by the failed job /a") in log.lines
    assert withdraw_outputs([], log, lambda _s: None, never) == [] and len(never.calls) == len(SEND_PAUSES) + 1
