"""DIRAC 9.1's DMSHelpers, made for the first time by several threads at once (the WorkflowTaskAgent's per-
transformation threads, in its first cycle): this extension's task-manager plugin makes it one at a time."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("DIRAC")

from DIRAC.DataManagementSystem.Utilities import DMSHelpers as dms_module  # noqa: E402

from CTAODIRAC.TransformationSystem.Client import TaskManagerPlugin as plugin  # noqa: E402


#: Set once the first thread is inside DMSHelpers.__init__, past the point where it marks itself made.
INSIDE = threading.Event()


@pytest.fixture
def slow_first_use(monkeypatch):
    """A fresh DMSHelpers whose __init__ is slow where DIRAC's is racy: after it has marked itself made, before
    it has made its method caches (its first LRUCache says so, then takes 1 s)."""
    monkeypatch.setattr(dms_module.DMSHelpers, "_instances", {})
    real = dms_module.LRUCache
    INSIDE.clear()

    def slow_cache(*args, **kwargs):
        if not INSIDE.is_set():
            INSIDE.set()
            time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(dms_module, "LRUCache", slow_cache)


def _use_from_threads(make) -> list[BaseException]:
    errors: list[BaseException] = []

    def use() -> None:
        try:
            make()
            dms_module.DMSHelpers()._getLocalSitesForSE_cache  # noqa: B018 - what getSitesForSE reads first
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    first = threading.Thread(target=use)
    first.start()
    assert INSIDE.wait(30)  # the first thread is inside __init__
    others = [threading.Thread(target=use) for _ in range(3)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    return errors


def test_dirac_alone_hands_out_a_half_made_dms_helpers(slow_first_use):
    # DIRAC's race itself (9.1, pinned by the lock file): when a DIRAC release fixes it, this fails, and the lock
    # in the plugin (TaskManagerPlugin._dms_helpers_made) can go
    errors = _use_from_threads(dms_module.DMSHelpers)
    assert errors and all(isinstance(e, AttributeError) for e in errors), errors


def test_the_plugin_makes_it_one_thread_at_a_time(slow_first_use):
    assert _use_from_threads(plugin._dms_helpers_made) == []
