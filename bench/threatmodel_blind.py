"""What the describer of a case study's target system may see: its name, target, actor and
summary, with every technique ID and procedure step hidden.

Issue 16's validation describes the system behind each ATLAS case study, and the adversary it
faced, in `system.yaml` from this text alone, then measures how many of the techniques the case
study really used the rules predict. Showing the procedure while describing would leak the answer into the description.

Usage: python bench/threatmodel_blind.py [even|odd|all] [--id AML.CS0000]
"""

from __future__ import annotations

import re
import sys
import textwrap

from advmatrix.kb import bundled

_ID = re.compile(r"AML\.(T|M)\d{4}(\.\d{3})?")


def half(case_id: str) -> str:
    """'even' or 'odd' by the case study's number: rules are tuned on even, reported on odd."""
    return "even" if int(case_id.split("CS")[1]) % 2 == 0 else "odd"


def blind(case) -> str:
    """The case study as the describer sees it."""
    def hide(text: str) -> str:
        return _ID.sub("[hidden]", text or "")

    body = textwrap.fill(hide(case.summary), 100)
    return f"{case.id}  {case.name}\ntarget: {hide(case.target)}\nactor: {hide(case.actor)}\n\n{body}\n"


def main(argv: list[str]) -> None:
    which = argv[0] if argv and not argv[0].startswith("--") else "all"
    only = argv[argv.index("--id") + 1] if "--id" in argv else None
    for case in sorted(bundled().case_studies, key=lambda c: c.id):
        if (only and case.id != only) or (which != "all" and half(case.id) != which):
            continue
        print(blind(case))
        print("-" * 100)


if __name__ == "__main__":
    main(sys.argv[1:])
