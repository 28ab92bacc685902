"""Pack a CWL document into one self-contained file (cwltool's ``--pack``), for a job's input sandbox.

A Workflow whose steps ``run:`` other files, or a tool that ``$import``-s another file, cannot travel alone in a
job's input sandbox: :func:`pack_cwl` gives the one JSON document cwltool makes of it (every process in a
``$graph``, the main one ``#main``), which cwltool runs like the original. :func:`write_packed` writes it
under the original file name, so that the job's configuration names it the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..Production.errors import Issue, SpecValidationError
from .document import display_name
from .validate import _quiet

__all__ = ["pack_cwl", "write_packed"]


def pack_cwl(path: str | Path) -> dict[str, Any]:
    """The packed document of the CWL file at ``path`` (validated by cwltool while loading)."""
    from cwltool.context import LoadingContext
    from cwltool.load_tool import fetch_document, resolve_and_validate_document
    from cwltool.pack import pack

    file = Path(path).resolve()
    with _quiet():
        try:
            context = LoadingContext()
            context.do_update = False
            context, workflowobj, uri = fetch_document(file.as_uri(), context)
            context, uri = resolve_and_validate_document(context, workflowobj, uri)
            if context.loader is None:  # pragma: no cover - cwltool always sets it
                raise RuntimeError("cwltool gave no loader")
            return dict(pack(context, uri, loader=context.loader))
        except Exception as exc:  # cwltool's ValidationException, WorkflowException...
            message = " ".join(str(exc).split())
            raise SpecValidationError([Issue(message=f"cwltool cannot pack it: {message}",
                                             file=display_name(file))]) from None


def write_packed(path: str | Path, directory: str | Path) -> Path:
    """Write the packed document of ``path`` into ``directory`` under the same file name; returns its path."""
    target = Path(directory) / Path(path).name
    target.write_text(json.dumps(pack_cwl(path), indent=2) + "\n", encoding="utf-8")
    return target
