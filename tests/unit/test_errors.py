"""One error root: every exception class of the package derives from CTAODIRACError; one helper for DIRAC's
return values; the commands' last-resort handler reports this package's errors by their message."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

import pytest
import typer
from rich.console import Console

import CTAODIRAC
from CTAODIRAC.Core.errors import CTAODIRACError, DiracCallError
from CTAODIRAC.Core.exitcodes import EXIT_BAD_INPUT, EXIT_FAILED
from CTAODIRAC.Core.Production import SpecLinkError
from CTAODIRAC.Utilities.cli import failures_reported
from CTAODIRAC.Utilities.ReturnValues import value_or_raise


def _package_exceptions() -> list[type]:
    found = []
    for module in pkgutil.walk_packages(CTAODIRAC.__path__, "CTAODIRAC."):
        if ".WebApp" in module.name:  # the portal's handlers need WebAppDIRAC's tornado set-up to import
            continue
        try:
            loaded = importlib.import_module(module.name)
        except ModuleNotFoundError as missing:  # a toy-events module without ctapipe: read its source instead
            assert not str(missing.name).startswith("CTAODIRAC"), missing
            source = ast.parse(Path(importlib.util.find_spec(module.name).origin).read_text())
            bases = [ast.unparse(b) for node in ast.walk(source) if isinstance(node, ast.ClassDef) for b in node.bases]
            assert not [b for b in bases if "Error" in b or "Exception" in b], (module.name, bases)
            continue
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == loaded.__name__:
                found.append(cls)
    return found


def test_every_exception_of_the_package_derives_from_the_root():
    classes = _package_exceptions()
    assert len(classes) >= 10
    assert [c.__qualname__ for c in classes if not issubclass(c, CTAODIRACError)] == []


def test_value_or_raise_gives_the_value_or_a_located_error():
    assert value_or_raise({"OK": True, "Value": 3}, "getX") == 3
    with pytest.raises(DiracCallError) as caught:
        value_or_raise({"OK": False, "Message": "no such thing"}, "getTransformation", transformation=12, lfn="/a")
    error = caught.value
    assert (error.call, error.message, error.transformation, error.lfn) == ("getTransformation", "no such thing", 12, "/a")
    assert str(error) == "transformation 12, LFN /a: getTransformation: no such thing"
    with pytest.raises(DiracCallError, match="not a DIRAC result"):
        value_or_raise(None, "getX")


@pytest.mark.parametrize(
    ("error", "code", "said"),
    [
        (DiracCallError("addTransformation", "refused", production="p"), EXIT_FAILED, "error: production p: add"),
        (SpecLinkError.at(("productions", 0), "bad link"), EXIT_BAD_INPUT, "error: <string>"),
        (ZeroDivisionError("x"), EXIT_FAILED, "internal error: ZeroDivisionError: x"),
    ],
)
def test_the_last_resort_handler_says_what_failed_and_exits_with_the_tables_code(error, code, said):
    console = Console(record=True, width=200)
    with pytest.raises(typer.Exit) as done, failures_reported(console):
        raise error
    assert done.value.exit_code == code
    assert said in console.export_text()
