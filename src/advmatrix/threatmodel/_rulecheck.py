"""Checking a rule file as it loads: every problem is ``file:line: rule: what is wrong``, and a rule
that could never fire, or reads what no component has, fails the load (see :mod:`.rules`)."""

from __future__ import annotations

import typing
from typing import Any

from ..errors import FormatError, quoted
from ..kb import bundled
from ._conditions import COMBINATORS, GRAPH_LEAVES, OPERATORS, Condition, kind_test
from ._load import MAX_PROBLEMS, Located
from ._reasoncheck import reason_problem
from ._words import a_kind, nearest
from ._words import more as more_
from .rules import (
    PLACEMENT_KEYS,
    RULE_KEYS,
    STAGES,
    TIERS,
    Loc,
    MitigationPlacement,
    Rule,
)
from .system import COMPONENT_CLASSES, COMPONENT_KINDS, component_fields

__all__ = ["RuleChecker", "closed_values"]


#: Leaves that read no flows, so 'untrusted' means nothing to them, and why.
_NO_FLOWS = {"adversary": "adversaries are not on the flows", "uses": "it reads the app's tools list, not flows",
             "present": "it asks about the whole system, not the flows"}
#: Leaves whose selector is of one kind, and what they select.
_ONE_KIND = {"adversary": ("adversary", "selects adversary components"),
             "uses": ("tool", "selects the app's tools (and the sub-agents its tools list names: kind: llm-app)")}


class RuleChecker:
    """Turns one file's parsed YAML into rules, every problem reported as ``file:line: rule: what``."""

    def __init__(self, located: Located):
        self.located = located
        self.matrix = bundled()
        self.warnings: list[str] = []

    def fail(self, loc: Loc, rule: str, msg: str) -> FormatError:
        line = self.located.line(loc)
        where = f"{self.located.source}:{line}" if line else self.located.source
        return FormatError(f"{where}: rule {rule}: {msg}" if rule else f"{where}: {msg}")

    def rules(self) -> list[Rule]:
        data = self.located.data
        if isinstance(data, dict) and set(data) - {"rules"}:
            extra = sorted(map(str, set(data) - {"rules"}))[0]
            near = nearest(extra, ["rules"])
            raise self.fail((extra,), "", f"unknown key '{extra}'" + (" (did you mean 'rules'?)" if near else "")
                            + "; a rule file is a mapping with one key, 'rules', holding a list of rules")
        if not isinstance(data, dict) or set(data) != {"rules"} or not isinstance(data["rules"], list):
            raise self.fail((), "", "a rule file is a mapping with one key, 'rules', holding a list of rules")
        # Every rule is checked, so one run names the first problem of each bad rule, not only the first.
        out, problems = [], []
        for i, raw in enumerate(data["rules"]):
            try:
                out.append(self.rule(raw, ("rules", i)))
            except FormatError as exc:
                problems.append(str(exc))
        if problems:
            extra = len(problems) - MAX_PROBLEMS
            more = [f"{self.located.source}: ... and {more_(extra, 'bad rule')}"] if extra > 0 else []
            raise FormatError("\n".join(problems[:MAX_PROBLEMS] + more))
        return out

    def rule(self, raw: Any, loc: Loc) -> Rule:
        if not isinstance(raw, dict):
            raise self.fail(loc, "", "a rule is a mapping with 'id', 'when' and 'reason'")
        tid = raw.get("id")
        # as the rule is named in messages: an id holding a line break must not split them
        name = (str(tid) if str(tid).isprintable() else ascii(str(tid))) if tid else f"#{loc[-1] + 1}"
        for key in raw:
            if key not in RULE_KEYS:
                near = nearest(str(key), sorted(RULE_KEYS), cutoff=0.6)
                raise self.fail((*loc, key), name, f"unknown key '{key}'" + (f" (did you mean '{near}'?)" if near
                                                                            else "")
                                + f"; a rule has {', '.join(sorted(RULE_KEYS))}")
        for key in ("id", "when", "reason"):
            if key not in raw:
                # indented one level too deep, a rule key lands inside 'when' and reads as missing
                nested = isinstance(raw.get("when"), dict) and key in raw["when"]
                where = f" (line {self.located.line((*loc, 'when', key))} has it under 'when': indent it as deep " \
                        "as 'when')" if nested else ""
                raise self.fail(loc, name, f"'{key}' is missing{where}")
        if not isinstance(tid, str) or tid not in self.matrix or type(self.matrix.get(tid)).__name__ != "Technique":
            raise self.fail((*loc, "id"), name, f"unknown ATLAS technique {quoted(tid)}")
        when = self.condition(raw["when"], (*loc, "when"), name, frozenset(COMPONENT_KINDS))
        problem = reason_problem(raw["reason"], when, _kinds_of(raw["when"], frozenset(COMPONENT_KINDS)))
        if problem:
            raise self.fail((*loc, "reason"), name, problem)
        stage = self.stage(raw.get("stage"), (*loc, "stage"), name)
        given = raw.get("mitigations")
        # false, '' or [] read as "none" would hide a mistake: only a mapping (or nothing at all) is one
        placements = self.placements({} if given is None else given, (*loc, "mitigations"), name, tid)
        tier = raw.get("tier", "likely")
        if tier not in TIERS:
            raise self.fail((*loc, "tier"), name, f"unknown tier '{tier}'; must be one of {', '.join(TIERS)}")
        return Rule(tid, when, raw["reason"].strip(), self.located.source, self.located.line(loc) or 0, stage,
                    placements, tier)

    def stage(self, value: Any, loc: Loc, name: str) -> str | None:
        if value is not None and value not in STAGES:
            raise self.fail(loc, name, f"unknown stage {value!r}; must be one of {', '.join(STAGES)}")
        return value

    def placements(self, raw: Any, loc: Loc, name: str, tid: str) -> dict[str, MitigationPlacement]:
        if not isinstance(raw, dict):
            raise self.fail(loc, name, "'mitigations' maps mitigation IDs to {component, stage}")
        linked = {m.id for m, _ in self.matrix.mitigations_of(tid)}
        out = {}
        for mid, spec in raw.items():
            here = (*loc, mid)
            if mid not in self.matrix or type(self.matrix.get(mid)).__name__ != "Mitigation":
                raise self.fail(here, name, f"unknown ATLAS mitigation '{mid}'")
            if mid not in linked:
                self.warnings.append(f"{self.located.source}:{self.located.line(here)}: rule {name}: mitigation "
                                     f"{mid} is not linked to {tid} in the knowledge base; kept as the rule says")
            spec = {} if spec is None else spec  # 'AML.M0004:' with nothing after it: placed by default
            if not isinstance(spec, dict) or set(spec) - PLACEMENT_KEYS:
                extra = sorted(str(k) for k in set(spec) - PLACEMENT_KEYS) if isinstance(spec, dict) else []
                near = nearest(extra[0], sorted(PLACEMENT_KEYS)) if extra else None
                raise self.fail((*here, extra[0]) if extra else here, name,
                                (f"unknown placement key '{extra[0]}' (did you mean '{near}'?); " if near else "")
                                + "a placement has only 'component' (a component kind) and 'stage'")
            comp = spec.get("component")
            if comp is not None and comp not in COMPONENT_KINDS:
                raise self.fail((*here, "component"), name,
                                f"unknown component kind {comp!r}; must be one of {', '.join(COMPONENT_KINDS)}")
            if comp == "adversary":
                raise self.fail((*here, "component"), name, "a mitigation goes on a component of the system; an "
                                "adversary holds no controls")
            out[mid] = MitigationPlacement(comp, self.stage(spec.get("stage"), (*here, "stage"), name))
        return out

    def condition(self, raw: Any, loc: Loc, name: str, kinds: frozenset[str]) -> Condition:
        """Parse a condition; ``kinds`` are the component kinds it can be about, narrowed by ``kind:`` leaves."""
        if not isinstance(raw, dict) or not raw:
            raise self.fail(loc, name, "a condition is a non-empty mapping")
        if "kind" in raw:
            op, values = kind_test(raw["kind"])
            if op == "set":
                if values != [True]:
                    raise self.fail((*loc, "kind"), name, "every component has a kind: only 'set: true' can hold")
            elif not values and op == "in":
                raise self.fail((*loc, "kind"), name, "an empty list of kinds matches no component")
            else:
                for v in values:
                    if not isinstance(v, str) or v not in COMPONENT_KINDS:
                        raise self.fail((*loc, "kind"), name,
                                        f"unknown component kind {v!r}; must be one of {', '.join(COMPONENT_KINDS)}")
                kinds = kinds - frozenset(values) if op == "not_in" else kinds & frozenset(values)
                if not kinds:
                    raise self.fail((*loc, "kind"), name, "the kinds this condition asks for exclude each other: "
                                    "it matches nothing")
        # not: {kind: model} and any: [{kind: model}, {kind: dataset}] narrow the kinds as kind: does (the
        # negated test itself is read with the kinds before it)
        before, kinds = kinds, _kinds_of({k: raw[k] for k in ("not", "any") if k in raw}, kinds)
        if not kinds:
            raise self.fail(loc, name, "the kinds this condition asks for exclude each other: it matches nothing")
        parts = [self.leaf(key, value, (*loc, key), name, before if key == "not" else kinds)
                 for key, value in raw.items()]
        # each field exists on one of the kinds, but all of them together must exist on one (audience is a
        # service's, task a model's: kind [model, service] with both matches nothing)
        fields = [k for k in raw if isinstance(k, str) and k != "kind" and k not in COMBINATORS
                  and k not in GRAPH_LEAVES and not k.startswith("properties.")]
        if len(fields) > 1 and not any(all(f in component_fields(k) for f in fields) for k in kinds):
            raise self.fail(loc, name, f"no component kind ({'/'.join(sorted(kinds))}) has all of "
                            f"{', '.join(fields)}: the condition matches nothing")
        self.consistent(parts, loc, name, kinds)
        return parts[0] if len(parts) == 1 else Condition("all", children=tuple(parts))

    def consistent(self, parts: list[Condition], loc: Loc, name: str, kinds: frozenset[str]) -> None:
        """Fail when conditions that must all hold include one and its negation (``x`` and ``not: x``), or
        tests of one field that no value passes together (``task: a`` beside ``task: {in: [b]}``)."""
        flat = [q for p in parts for q in (p.children if p.op == "all" else (p,))]
        for p in flat:
            if p.op == "not" and any(q == p.children[0] for q in flat):
                raise self.fail(loc, name, "a condition and its own 'not' must both hold: it matches nothing")
        wanted: dict[str, list[frozenset[Any]]] = {}
        barred: dict[str, set[Any]] = {}
        unset: set[str] = set()
        exposure: set[bool] = set()
        for p in flat:
            negated = p.op == "not"
            leaf = p.children[0] if negated else p
            if leaf.op == "exposed":
                # exposed: false (reached by nothing) beside any exposed: true
                # not exposed to untrusted parties, or not talked to directly, may still be exposed
                if not (negated and (leaf.untrusted or leaf.value in ("direct", "replies", "unanswered"))):
                    exposure.add(bool(leaf.value) != negated)
                continue
            if leaf.op in COMBINATORS or leaf.op in GRAPH_LEAVES:
                continue
            op, values = _test(leaf.value)
            if (op == "unset" and not negated) or (op == "set" and negated):
                unset.add(leaf.op)
            elif op == "in":
                (barred.setdefault(leaf.op, set()).update(values) if negated
                 else wanted.setdefault(leaf.op, []).append(values))
            elif op == "not_in" and not negated:
                barred.setdefault(leaf.op, set()).update(values)
        for key, sets in wanted.items():
            # A list-valued field (goals, tools) passes each test with a different item; one value must
            # pass every test of a single-valued field.
            if key in unset:
                empty = True
            elif _multi(key, kinds):
                empty = any(not s or s <= barred.get(key, set()) for s in sets)
            else:
                together = frozenset.intersection(*sets)
                empty = not together or together <= barred.get(key, set())
            if empty:
                raise self.fail(loc, name, f"no value of '{key}' passes all of its tests here: it matches nothing")
        if exposure == {True, False}:
            raise self.fail(loc, name, "'exposed' asked both ways: it matches nothing")

    def leaf(self, key: Any, value: Any, loc: Loc, name: str, kinds: frozenset[str]) -> Condition:
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise self.fail(loc, name, f"'{key}' takes a non-empty list of conditions")
            if key == "all":
                for v in value:
                    said = v.get("kind") if isinstance(v, dict) else None
                    said = [said] if isinstance(said, str) else said
                    if isinstance(said, list) and all(isinstance(k, str) for k in said):
                        kinds = kinds & frozenset(said)
                if not kinds:
                    raise self.fail(loc, name, "the kinds this 'all' asks for exclude each other: it matches nothing")
            children = [self.condition(v, (*loc, i), name, kinds) for i, v in enumerate(value)]
            if key == "all":
                self.consistent(children, loc, name, kinds)
            return Condition(key, children=tuple(children))
        if key == "not":
            return Condition("not", children=(self.condition(value, loc, name, kinds),))
        if key == "exposed":
            if kinds == {"adversary"}:
                raise self.fail(loc, name, "an adversary is on no flow, so 'exposed' never holds for one")
            untrusted, usage = False, ("'exposed' takes true, false or {untrusted: true, direct: true, replies: true, "
                                       "unanswered: true} (any of the keys)")
            if isinstance(value, dict):
                extra = sorted(map(str, set(value) - {"untrusted", "direct", "replies", "unanswered"}))
                if extra:
                    near = nearest(extra[0], ["untrusted", "direct", "replies", "unanswered"])
                    raise self.fail((*loc, extra[0]), name, f"unknown key '{extra[0]}' in 'exposed'"
                                    + (f" (did you mean '{near}'?)" if near else "") + f"; {usage}")
                if not value or not all(isinstance(v, bool) for v in value.values()):
                    raise self.fail(loc, name, usage)
                # direct: someone reaches it without their content resting in a store or a tool on the way;
                # replies: ... nor passing a service that hands back only a verdict, so they read its answers;
                # unanswered: an LLM app's outside senders whose words reach it so but who hear nothing back
                untrusted = value.get("untrusted", False)
                if value.get("unanswered") and (value.get("direct") or value.get("replies")):
                    raise self.fail(loc, name, "'exposed' with unanswered: true names those it does not answer; "
                                    "direct or replies beside it name those it does, so it never holds")
                value = ("unanswered" if value.get("unanswered") else "replies" if value.get("replies")
                         else "direct" if value.get("direct") else True)
            elif not isinstance(value, bool):
                raise self.fail(loc, name, usage)
            return Condition("exposed", value, untrusted=untrusted)
        if key in GRAPH_LEAVES:
            if not isinstance(value, dict):
                raise self.fail(loc, name, f"'{key}' takes a selector: a condition on the other component")
            selector = dict(value)
            untrusted = selector.pop("untrusted", False)
            if not isinstance(untrusted, bool):
                # quoted "false" is text, which Python would take as true
                raise self.fail(loc, name, f"'untrusted' takes true or false; got {untrusted!r}")
            if untrusted and key in _NO_FLOWS:
                raise self.fail(loc, name, f"'{key}' takes no 'untrusted': {_NO_FLOWS[key]}")
            own = selector.pop("own", False)
            if not isinstance(own, bool):
                raise self.fail(loc, name, f"'own' takes true or false; got {own!r}")
            if own and key not in ("upstream", "reachable_from"):
                raise self.fail(loc, name, f"'{key}' takes no 'own': only upstream and reachable_from walk back "
                                "through other LLM apps")
            reaches = selector.pop("reaches", False) if key == "adversary" else False
            if not isinstance(reaches, bool):
                raise self.fail(loc, name, f"'reaches' takes true or false; got {reaches!r}")
            if key in _ONE_KIND:
                only, what = _ONE_KIND[key]
                selector.setdefault("kind", only)
                # an app's tools list may name a sub-agent (an llm-app) besides its tools
                allowed = {only, "llm-app"} if key == "uses" else {only}
                said = selector["kind"] if isinstance(selector["kind"], list) else [selector["kind"]]
                if not said or not all(isinstance(k, str) and k in allowed for k in said):
                    raise self.fail(loc, name, f"'{key}' {what}; drop its 'kind'")
            if key == "adversary" and _graph_keys(selector):
                raise self.fail(loc, name, "an adversary is on no flow: its selector takes no "
                                f"{'/'.join(sorted(_graph_keys(selector)))}")
            if key == "uses" and "llm-app" not in kinds:
                raise self.fail(loc, name, "'uses' reads an LLM app's tools list, and this condition never "
                                f"matches an llm-app ({'/'.join(sorted(kinds))})")
            if not selector:
                selector = {"kind": {"in": list(COMPONENT_KINDS)}}
            if key not in ("adversary", "present") and (kinds == {"adversary"} or
                                       _kinds_of(selector, frozenset(COMPONENT_KINDS)) == {"adversary"}):
                raise self.fail(loc, name, f"an adversary is on no flow, so '{key}' never holds for or through one; "
                                "ask what it can reach with 'adversary: {access: ...}'")
            return Condition(key, children=(self.condition(selector, loc, name, frozenset(COMPONENT_KINDS)),),
                             untrusted=untrusted, own=own, reaches=reaches)
        if not isinstance(key, str):
            raise self.fail(loc, name, f"unknown condition key {key!r}")
        if key.startswith("properties."):
            if not key.split(".", 1)[1]:
                raise self.fail(loc, name, "'properties.' needs a property name")
        elif key not in component_fields():
            head, dot, rest = key.partition(".")
            # 'propertes.x' meant a free property, not a field named like it
            near = (f"properties.{rest}" if dot and rest and nearest(head, ["properties"]) else
                    nearest(key, [*COMBINATORS, *GRAPH_LEAVES, *component_fields(), *SELECTOR_OPTIONS]))
            raise self.fail(loc, name, f"unknown condition key '{key}'"
                            + (f" (did you mean '{near}'?)" if near else "")
                            + f"; a condition is all/any/not, {', '.join(GRAPH_LEAVES)}, or a component field")
        elif key != "kind" and not any(key in component_fields(k) for k in kinds):
            raise self.fail(loc, name, f"field '{key}' does not exist on {a_kind('/'.join(sorted(kinds)))} component")
        if isinstance(value, dict):
            if len(value) != 1 or next(iter(value)) not in OPERATORS:
                near = nearest(str(next(iter(value))), list(OPERATORS)) if len(value) == 1 else None
                raise self.fail(loc, name, (f"unknown operator '{next(iter(value))}' (did you mean '{near}'?); "
                                            if near else "")
                                + f"a field test is a value, a list, or one of {{{', '.join(OPERATORS)}}}")
            op, arg = next(iter(value.items()))
            if op in ("in", "not_in") and (not isinstance(arg, list) or any(isinstance(v, (list, dict)) for v in arg)):
                raise self.fail(loc, name, f"'{op}' takes a list of values (text, numbers, true or false)")
            if op == "set" and not isinstance(arg, bool):
                # YAML reads "no" in quotes as text, which Python would take as true.
                raise self.fail(loc, name, f"'set' takes true or false; got {arg!r}")
            if op == "in" and not arg:
                raise self.fail(loc, name, "an empty list matches nothing")
        elif isinstance(value, list) and not value:
            raise self.fail(loc, name, "an empty list matches nothing")
        self.values(key, value, loc, name, kinds)
        return Condition(key, value)

    def values(self, key: str, value: Any, loc: Loc, name: str, kinds: frozenset[str]) -> None:
        """A value the field can never hold makes a rule that never fires (``task: classifcation``)."""
        if key.startswith("properties.") or key == "kind":
            return
        said = value if not isinstance(value, dict) else next(iter(value.values()))
        if isinstance(value, dict) and next(iter(value)) == "set":
            return
        said = said if isinstance(said, list) else [said]
        if key == "controls":
            for v in said:
                if not isinstance(v, str) or v not in self.matrix or type(self.matrix.get(v)).__name__ != "Mitigation":
                    raise self.fail(loc, name, f"controls: {v!r} is not an ATLAS mitigation ID")
            return
        if None in said:
            raise self.fail(loc, name, f"{key}: null is no value to compare with; to ask that it is not stated, "
                                       "write {set: false}")
        allowed: list[Any] = []
        for kind in kinds:
            cls = COMPONENT_CLASSES[kind]
            if key in cls.model_fields:
                closed = closed_values(cls, key)
                if closed is None:
                    # free text (or a number) on some kind: any value of that type may be right
                    types = _plain_types(cls.model_fields[key].annotation)
                    wrong = [v for v in said if not (isinstance(v, types) and not
                                                     (isinstance(v, bool) and bool not in types))]
                    if wrong:
                        holds = " or ".join(sorted(_TYPE_WORDS.get(t, t.__name__) for t in types))
                        shown = str(wrong[0]).lower() if isinstance(wrong[0], bool) else repr(wrong[0])
                        raise self.fail(loc, name, f"{key}: {shown} can never equal it: it holds {holds}")
                    return
                allowed += [v for v in closed if v not in allowed]
        for v in said:
            # bool is an int in Python: True == 1, so compare types as well as values
            if not any(v == a and type(v) is type(a) for a in allowed):
                shown = ", ".join(str(a).lower() if isinstance(a, bool) else str(a) for a in allowed)
                raise self.fail(loc, name, f"{key}: {v!r} is not a value it can take ({shown})")


_TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
#: The options a graph leaf's selector takes besides conditions (which flows it follows, whose content it is,
#: what an adversary reaches): a misspelling of one is suggested like any key.
SELECTOR_OPTIONS = ("untrusted", "own", "reaches")


def _plain_types(annotation: Any) -> tuple[type, ...]:
    """The plain types (text, numbers, booleans) a field's annotation holds, through Optional and tuples."""
    out: list[type] = []
    todo = [annotation]
    while todo:
        ann = todo.pop()
        if ann in _TYPE_WORDS:
            out.append(ann)
        else:
            todo += list(typing.get_args(ann))
    return tuple(dict.fromkeys(out)) or (str,)


def _test(value: Any) -> tuple[str, frozenset[Any]]:
    """A field test as ("in" | "not_in" | "unset" | "set", the values it names), each value typed so
    that true stays distinct from 1."""
    if isinstance(value, dict):
        op, arg = next(iter(value.items()))
        if op == "set":
            return ("set" if arg else "unset"), frozenset()
        items = arg
    else:
        op, items = "in", value if isinstance(value, list) else [value]
    # a list or mapping inside the list is no value a field holds: it can only be a mistake, not a key
    return op, frozenset((type(v).__name__, v) for v in items if isinstance(v, (str, int, float, bool)))


def _kinds_of(raw: Any, kinds: frozenset[str]) -> frozenset[str]:
    """The component kinds a raw condition can match, narrowed by its ``kind`` tests, the fields it needs a
    value of, those of its ``all``, a ``not`` of a kind test alone, and an ``any`` whose branches each hold
    only for some kinds."""
    if not isinstance(raw, dict):
        return kinds
    if raw.get("kind") is not None:
        op, values = kind_test(raw["kind"])
        named = {v for v in values if isinstance(v, str)}  # anything else is reported where it is checked
        kinds = kinds - named if op == "not_in" else kinds if op == "set" else kinds & named
    for key, value in raw.items():
        # a field test that needs a value holds only on kinds that have the field ('side_effects: write'
        # is a tool's); one that asks it be unstated holds on every kind without it
        if isinstance(key, str) and key in component_fields() and key != "kind" and value != {"set": False}:
            kinds = frozenset(k for k in kinds if key in component_fields(k))
    for child in raw.get("all") or () if isinstance(raw.get("all"), list) else ():
        kinds = _kinds_of(child, kinds)
    negated = raw.get("not")
    if isinstance(negated, dict) and set(negated) == {"kind"} and negated["kind"] is not None:
        # not: {kind: model} is kind: {not_in: [model]}, and not a not_in is an in
        op, values = kind_test(negated["kind"])
        named = {v for v in values if isinstance(v, str)}
        kinds = kinds & named if op == "not_in" else kinds if op == "set" else kinds - named
    branches = raw.get("any")
    if isinstance(branches, list) and branches:
        kinds = frozenset().union(*(_kinds_of(b, kinds) for b in branches))
    return kinds


def _multi(key: str, kinds: frozenset[str]) -> bool:
    """Whether ``key`` may hold several values (a list field) on any of ``kinds``; a free property holds one."""
    if key.startswith("properties."):
        return False
    for kind in kinds:
        info = COMPONENT_CLASSES[kind].model_fields.get(key)
        todo = [info.annotation] if info is not None else []
        while todo:
            ann = todo.pop()
            if typing.get_origin(ann) in (tuple, list):
                return True
            todo += list(typing.get_args(ann)) if typing.get_origin(ann) is typing.Union else []
    return False


def closed_values(cls: type, name: str) -> list[Any] | None:
    """The values field ``name`` of component class ``cls`` can take when they are a closed set (its
    Literals and booleans), else None (free text, numbers)."""
    info = cls.model_fields.get(name)  # type: ignore[attr-defined]
    if info is None:
        return None
    found: list[Any] = []
    todo = [info.annotation]
    while todo:
        ann = todo.pop()
        if ann is bool:
            found += [True, False]
        elif typing.get_origin(ann) is typing.Literal:
            found += list(typing.get_args(ann))
        elif ann in (str, int):
            return None
        else:
            todo += [a for a in typing.get_args(ann) if a is not type(None)]
    return found or None


def _graph_keys(raw: Any) -> set[str]:
    """The graph leaves a raw condition uses at any depth (an adversary's selector may use none)."""
    if isinstance(raw, list):
        return set().union(*(_graph_keys(v) for v in raw)) if raw else set()
    if not isinstance(raw, dict):
        return set()
    found = {k for k in raw if k in GRAPH_LEAVES}
    return found.union(*(_graph_keys(v) for k, v in raw.items() if k in ("all", "any", "not")))
