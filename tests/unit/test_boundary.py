"""The pure core never imports DIRAC (STYLE.md: a pure core, DIRAC at the edge)."""

from __future__ import annotations

import subprocess
import sys

CODE = r"""
import importlib, pkgutil, sys
import CTAODIRAC.Core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(len(names) + 1, sorted(m for m in sys.modules if m == "DIRAC" or m.startswith("DIRAC.")))
"""


def test_core_and_local_tool_never_import_dirac():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert int(out[0]) >= 1
    assert out[1].strip() == "[]"


def test_local_dirac_tool_runs_dirac_only_in_subprocesses():
    code = (
        "import sys\n"
        "import CTAODIRAC.LocalDIRAC.cli, CTAODIRAC.LocalDIRAC.control, CTAODIRAC.LocalDIRAC.csconfig as c\n"
        "c.system_templates(), c.extension_databases(), c.all_components()\n"
        "print(any(m == 'DIRAC' or m.startswith('DIRAC.') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- the same, read on the source: imports inside functions count too, and Core's modules import no circle
def _core_imports() -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every module of CTAODIRAC.Core, from the source (every import
    statement, at any depth); a package is its ``__init__``."""
    import ast
    from pathlib import Path

    import CTAODIRAC.Core as core

    root = Path(core.__file__).parent
    modules: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = ["CTAODIRAC", "Core", *path.relative_to(root).with_suffix("").parts]
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules)
        graph[name] = found
    return graph


def test_core_source_never_imports_dirac_even_inside_functions():
    offenders = {name: sorted(m for m in imports if m == "DIRAC" or m.startswith("DIRAC."))
                 for name, imports in _core_imports().items()}  # fmt: skip
    assert {name: found for name, found in offenders.items() if found} == {}


def test_core_modules_import_no_circle():
    from CTAODIRAC.Core.Production.graph import find_cycle

    graph = _core_imports()
    edges = {name: sorted(m for m in imports if m in graph and m != name) for name, imports in graph.items()}
    assert len(graph) > 40
    assert find_cycle(sorted(graph), edges) in (None, [])
