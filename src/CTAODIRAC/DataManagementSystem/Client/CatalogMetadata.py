"""Metadata fields and metadata queries of the DIRAC file catalog, the way CTAO productions use them.

Production steps are linked through catalog metadata: a child's input query selects what its parents
registered. This client declares the metadata fields a production needs (idempotently, as directory or
file metadata), and counts the files a query selects today. It raises :class:`CatalogError` instead of
returning S_ERROR dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient

from CTAODIRAC.Core.errors import DiracCallError
from CTAODIRAC.Utilities.ReturnValues import value_or_raise

#: DIRAC file catalog metadata types (the only ones DIRAC's production validator accepts).
FIELD_TYPES = {"str": "VARCHAR(128)", "int": "INT", "float": "FLOAT"}


class CatalogError(DiracCallError):
    """A file catalog call failed; ``what`` names the call and its subject."""

    def __init__(self, what: str, message: str):
        super().__init__(what, message)
        self.what = what


class CatalogMetadata:
    """Declare metadata fields and run metadata queries against the DIRAC file catalog."""

    def __init__(self, catalog: FileCatalogClient | None = None):
        self.catalog = catalog or FileCatalogClient()

    def _call(self, what: str, result: dict) -> Any:
        return value_or_raise(result, what, error=CatalogError)

    def fields(self) -> dict[str, dict[str, str]]:
        """``{"directory": {name: type}, "file": {name: type}}`` as the catalog knows them."""
        value = self._call("getMetadataFields", self.catalog.getMetadataFields())
        return {"directory": dict(value.get("DirectoryMetaFields", {})), "file": dict(value.get("FileMetaFields", {}))}

    def ensure_fields(self, directory: Mapping[str, str] = {}, file: Mapping[str, str] = {}) -> list[str]:
        """Declare the missing fields (values: ``str``, ``int`` or ``float``); return the names added.

        A field already declared with another kind (directory vs file) or type is an error: changing it
        would change what existing queries select.
        """
        known = self.fields()
        added = []
        for kind, wanted, flag in (("directory", directory, "-d"), ("file", file, "-f")):
            for name, pytype in wanted.items():
                if pytype not in FIELD_TYPES:
                    raise ValueError(f"metadata field {name}: type {pytype!r} is not one of {sorted(FIELD_TYPES)}")
                sqltype = FIELD_TYPES[pytype]
                other = "file" if kind == "directory" else "directory"
                if name in known[other]:
                    raise CatalogError(f"metadata field {name}", f"already declared as {other} metadata")
                if name in known[kind]:
                    if known[kind][name].upper() != sqltype.upper():
                        raise CatalogError(f"metadata field {name}", f"declared as {known[kind][name]}, not {sqltype}")
                    continue
                self._call(f"addMetadataField {name}", self.catalog.addMetadataField(name, sqltype, flag))
                added.append(name)
        return added

    def find_files(self, query: Mapping[str, Any], path: str = "/") -> list[str]:
        """The LFNs a metadata query selects under ``path``."""
        return sorted(self._call(f"findFilesByMetadata {dict(query)}", self.catalog.findFilesByMetadata(dict(query), path)))

    def count_files(self, query: Mapping[str, Any], path: str = "/") -> int:
        return len(self.find_files(query, path))
