"""``--to-native`` on the whole differential corpus: the native file printed for a legacy file plans the same.

For every generated legacy file that we build, the native YAML that ``dirac-ctao-submit-production --to-native``
prints is read back as a native file and planned; its ``--json`` plan is byte-identical to the legacy file's,
offline (datasets not read) and with the datasets resolved. A file we refuse is refused by ``--to-native`` too,
at the same place.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from CTAODIRAC.Core.Production import ProductionSpecError, load_plan, translate_legacy
from CTAODIRAC.ProductionSystem.scripts.dirac_ctao_submit_production import write_native

from .test_ctadirac_oracle import _corpus, _resolver


def _plan_json(**kwargs) -> str | tuple[str, tuple]:
    try:
        plan = load_plan(**kwargs)
    except ProductionSpecError as error:
        return ("refused", error.issues[0].path)
    return json.dumps(plan.to_json_dict(), indent=2)


def test_the_native_file_of_every_legacy_file_plans_byte_identically() -> None:
    corpus = _corpus()
    checked = refused = 0
    failures: list[str] = []
    for name, text, _ in corpus:
        for resolver in (None, _resolver):
            legacy = _plan_json(text=text, filename=f"{name}.yaml", production_name="p", dataset_resolver=resolver)
            try:
                translation = translate_legacy(text=text, filename=f"{name}.yaml", production_name="p",
                                               dataset_resolver=resolver)  # fmt: skip
            except ProductionSpecError as error:
                if legacy != ("refused", error.issues[0].path):
                    failures.append(f"{name}: --to-native refuses at {error.issues[0].path}, the plan: {legacy}")
                refused += 1
                continue
            out = io.StringIO()
            write_native(translation, Path(f"{name}.yaml"), out, Console(file=io.StringIO()))
            native = _plan_json(text=out.getvalue(), filename=f"{name}-native.yaml", dataset_resolver=resolver)
            if native != legacy:
                failures.append(f"{name} (datasets {'read' if resolver else 'not read'}): the native file plans"
                                f" {str(native)[:300]}\nthe legacy file {str(legacy)[:300]}\n{out.getvalue()}")
            checked += 1
    print(f"\n{len(corpus)} files: {checked} translated and planned identically, {refused} refused")
    assert checked > len(corpus) // 4  # a good part of the corpus builds (it is meant to be mostly wrong)
    assert not failures, f"{len(failures)} differ; first:\n\n" + "\n\n".join(failures[:3])
