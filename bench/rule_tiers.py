"""The bundled rules' tiers, set by two reviewers blind to the case studies (bench/data/rule_tiers.yaml).

A rule's tier (``likely``/``possible``) is evidence for the ranking model, so it must not be set while
looking at which techniques the tuning half's case studies used (twenty-first session, bench/RESULTS.md).
New and changed rules are reviewed the same way:

1. ``python bench/rule_tiers.py pending DIR`` writes DIR/rules.yaml (the rules with no review: key, technique,
   condition and reason, no tier) and DIR/PROMPT.md, the reviewers' brief (bench/data/rule_tiers_prompt.md).
2. Two reviewers, apart, each write a YAML mapping of every key to ``{tier: likely|possible, why: ...}``,
   seeing neither the tiers in the rule files, nor the case studies, nor bench/.
3. ``python bench/rule_tiers.py apply A.yaml B.yaml`` records both reviews, drops those of rules that no
   longer exist, and sets each rule's tier in its file: ``likely`` where both said likely. Then re-learn the
   weights (``python bench/threatmodel_validate.py --learn``).

tests/threatmodel/test_rules.py fails while a bundled rule has no review or its tier differs from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from advmatrix.kb import bundled
from advmatrix.threatmodel import bundled_rules
from advmatrix.threatmodel.predict import rule_key

HERE = Path(__file__).parent
REVIEWS = HERE / "data" / "rule_tiers.yaml"
PROMPT = HERE / "data" / "rule_tiers_prompt.md"
RULES = HERE.parent / "src" / "advmatrix" / "threatmodel" / "rules"


def key(rule) -> str:
    """The review's key of a rule: file name, technique and condition digest (see ``rule_key``)."""
    return rule_key(rule).rsplit("/", 1)[-1]


def _files() -> dict[str, list[dict]]:
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8"))["rules"]
            for p in sorted(RULES.glob("*.yaml")) if not p.name.startswith("_")}


def _positions() -> list[tuple[str, int, object]]:
    """(file name, index in its file, rule) for every bundled rule, in load order."""
    seen: dict[str, int] = {}
    out = []
    for rule in bundled_rules():
        name = rule.source.rsplit("/", 1)[-1]
        out.append((name, seen.get(name, 0), rule))
        seen[name] = seen.get(name, 0) + 1
    return out


def pending(out: Path) -> int:
    """Write the rules no review covers, and the brief, for two reviewers."""
    reviews = yaml.safe_load(REVIEWS.read_text(encoding="utf-8")) or {}
    raw, names = _files(), {t.id: t.name for t in bundled().techniques}
    todo = [{"key": key(r), "technique": r.technique_id, "technique_name": names[r.technique_id],
             "when": raw[f][i]["when"], "reason": raw[f][i]["reason"]}
            for f, i, r in _positions() if key(r) not in reviews]
    out.mkdir(parents=True, exist_ok=True)
    (out / "rules.yaml").write_text(yaml.safe_dump(todo, sort_keys=False, width=140), encoding="utf-8")
    (out / "PROMPT.md").write_text(PROMPT.read_text(encoding="utf-8").replace("RULES_FILE", str(out / "rules.yaml"))
                                   .replace("COUNT", str(len(todo))).replace("REPO", str(HERE.parent.resolve())),
                                   encoding="utf-8")
    print(f"{len(todo)} rule(s) to review: {out / 'rules.yaml'}; brief: {out / 'PROMPT.md'}")
    return 0


def apply(first: Path, second: Path) -> int:
    """Record two reviews and set every rule's tier from them (likely where both said likely)."""
    a, b = (yaml.safe_load(p.read_text(encoding="utf-8")) for p in (first, second))
    if set(a) != set(b):
        print(f"the two reviews cover different rules: {sorted(set(a) ^ set(b))[:5]}", file=sys.stderr)
        return 2
    text = REVIEWS.read_text(encoding="utf-8")
    head = "".join(line for line in text.splitlines(True) if line.startswith("#"))
    reviews = yaml.safe_load(text) or {}
    for k in a:
        reviews[k] = {"a": a[k]["tier"], "b": b[k]["tier"], "why_a": a[k]["why"], "why_b": b[k]["why"]}
    positions = _positions()
    live = {key(r) for _, _, r in positions}
    missing = sorted(live - set(reviews))
    if missing:
        print(f"rules with no review yet: {missing[:5]}", file=sys.stderr)
        return 2
    target = {(f, i): "likely" if reviews[key(r)]["a"] == reviews[key(r)]["b"] == "likely" else "possible"
              for f, i, r in positions}
    for path in sorted(RULES.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        # the tier line is rewritten in place, so the file's comments and layout stay as they are
        lines = path.read_text(encoding="utf-8").split("\n")
        starts = [n for n, line in enumerate(lines) if line.startswith("  - id: AML")]
        out = lines[:starts[0]]
        for i, (s, e) in enumerate(zip(starts, [*starts[1:], len(lines)], strict=True)):
            block = [line for line in lines[s:e] if line.strip() != "tier: possible"]
            if target[(path.name, i)] == "possible":
                block.insert(1, "    tier: possible")
            out += block
        path.write_text("\n".join(out), encoding="utf-8")
    REVIEWS.write_text(head + yaml.safe_dump({k: v for k, v in reviews.items() if k in live}, sort_keys=True,
                                             width=160), encoding="utf-8")
    print(f"{len(a)} review(s) recorded; tiers set in {RULES}; now re-learn the weights")
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("pending", help="write the unreviewed rules and the brief to DIR").add_argument("dir", type=Path)
    both = sub.add_parser("apply", help="record two reviews and set the tiers")
    both.add_argument("first", type=Path)
    both.add_argument("second", type=Path)
    args = ap.parse_args(argv)
    return pending(args.dir) if args.command == "pending" else apply(args.first, args.second)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
