"""Why a control held for a finding stops nothing there: ATLAS links it to the technique, but here it only
records, vouches for whoever made the file, or is slipped (a per-caller quota where callers cost nothing, a check
of who calls where anyone may become a caller).

Public through :mod:`advmatrix.threatmodel._advice` (``MitigationAdvice.idle``).
"""

from __future__ import annotations

from ._components import RATE_LIMIT
from ._direct import direct_entries
from ._placement import TYPED, door, in_front
from ._tools import APPROVAL
from .system import Component, System

__all__ = [
    "ADMITS",
    "HELD_BUT_IDLE",
    "MEMBERS",
    "PACKAGERS_OWN",
    "POISONING",
    "PUBLISHERS_OWN",
    "SUPPLIERS_OWN",
    "THROUGH_INPUTS",
    "idle_reason",
]

#: (technique, mitigation) pairs ATLAS links that, held, are shown in place but stop nothing, with why.
HELD_BUT_IDLE = {("AML.T0002.001", "AML.M0014"): "checking our copy's hash keeps no one from downloading the "
                                                 "public model it came from",
                 # validating a model before release finds how robust it is; the adversary's crafting and
                 # probing of the live model goes on all the same (a planted trigger it can find)
                 **dict.fromkeys((("AML.T0043", "AML.M0008"), ("AML.T0043.000", "AML.M0008"),
                                  ("AML.T0043.001", "AML.M0008"), ("AML.T0043.002", "AML.M0008"),
                                  ("AML.T0043.003", "AML.M0008")),
                                 "validation before release does not stop inputs crafted against the live model"),
                 ("AML.T0018.000", "AML.M0013"): "weights trained on poisoned data are signed as they are",
                 # a backdoor or a targeted poison is built to keep the model's accuracy on held-out data: a release
                 # gate's validation set passes it (five blind audits said so of the gates they drew; a sixth of
                 # a layer added to the model)
                 **dict.fromkeys((("AML.T0043.004", "AML.M0008"), ("AML.T0020", "AML.M0008"),
                                  ("AML.T0018.000", "AML.M0008"), ("AML.T0010.003", "AML.M0008"),
                                  ("AML.T0018.001", "AML.M0008")),
                                 "a backdoor or a targeted poison is made to pass a validation set"),
                 # the live model answers the check of a crafted input: nothing at rest is touched (audit M)
                 ("AML.T0042", "AML.M0005"): "the live model answers the check; nothing at rest is touched",
                 # an ensemble runs on the same tampered framework or loader (audit M)
                 ("AML.T0010.001", "AML.M0006"): "every model of the ensemble runs on the same tampered software",
                 # and it sees the file before release, not one swapped or laced with code after it (audit J)
                 **dict.fromkeys((("AML.T0018", "AML.M0008"), ("AML.T0018.002", "AML.M0008")),
                                 "validation before release does not see a file changed after it"),
                 # instructions in the prompt are the very thing an injection or a jailbreak talks the model out of
                 **dict.fromkeys((("AML.T0051", "AML.M0021"), ("AML.T0051.000", "AML.M0021"),
                                  ("AML.T0051.001", "AML.M0021"), ("AML.T0051.002", "AML.M0021"),
                                  ("AML.T0054", "AML.M0021")),
                                 "instructions in the prompt are what injections and jailbreaks override"),
                 # and so what a steered app then does with its tools and its data (two more audits)
                 **dict.fromkeys((("AML.T0053", "AML.M0021"), ("AML.T0057", "AML.M0021")),
                                 "instructions in the prompt are what a steering injection overrides"),
                 # and so a prompt that talks it into repeating them, or into copying a prompt on (audits P, R, S)
                 **dict.fromkeys((("AML.T0056", "AML.M0021"), ("AML.T0061", "AML.M0021")),
                                 "instructions in the prompt are what the adversary's prompt overrides")}


#: Control Access to AI Models and Data in Production, and the adversary's access that passes it as of right.
ADMITS = "AML.M0019"
MEMBERS = frozenset({"account", "insider"})
#: The techniques done through a model's inputs.
THROUGH_INPUTS = ("AML.T0043", "AML.T0042", "AML.T0015", "AML.T0046", "AML.T0029", "AML.T0040", "AML.T0034",
                  "AML.T0024", "AML.T0005")

#: The techniques a checked signature does not stop in a file from a public hub or an open-source release:
#: the code a pickle runs on load, the malware embedded in it (AML.T0018.002) and a backdoor in the weights
#: (AML.T0010.003) are its publisher's, and on a hub anyone may be that publisher: the hash proves only that
#: the file is the one they published.
PUBLISHERS_OWN = frozenset({"AML.T0011", "AML.T0011.000", "AML.T0018.002", "AML.T0010", "AML.T0010.003"})
#: Poisoning the data a model learns from, or the model through it, or eroding the set itself.
POISONING = frozenset({"AML.T0020", "AML.T0018.000", "AML.T0019", "AML.T0059"})
#: The techniques a pinned hash does not stop in a tool's package from a marketplace or a third party: the
#: code the package runs is its publisher's (a poisoned tool, a malicious package, a compromised supplier).
PACKAGERS_OWN = frozenset({"AML.T0010", "AML.T0010.005", "AML.T0011", "AML.T0011.001", "AML.T0011.002"})
#: Of those, what a vendor who delivers weight files signs as its own too: a compromised supplier signs its
#: backdoored model (its code on load is the vendor's to answer for, as any software it ships).
SUPPLIERS_OWN = frozenset({"AML.T0010", "AML.T0010.003"})


def idle_reason(system: System, comp: Component, mid: str, technique_id: str, held_at: str | None) -> str:
    """Why ``mid``, held (at ``held_at``) for ``comp``'s finding of ``technique_id``, stops nothing there, or
    ``""`` when it does: held, such a control is shown in place and clears nothing (as telemetry does not)."""
    if (technique_id, mid) in HELD_BUT_IDLE:
        return HELD_BUT_IDLE[technique_id, mid]
    if mid == RATE_LIMIT and held_at is not None:
        # a per-caller quota where callers cost nothing: the adversary spreads its queries over as many
        # addresses (AML.T0008.005) or accounts (AML.T0021) as it needs
        gate = system.component(held_at)
        # each names what would hold instead: the report has no other control to offer against the bill
        if gate.get("open_signup") is True:
            return (f"anyone can open accounts on {gate.id}, as many as the queries need: limit per payment method "
                    "or device, or vet sign-ups (open_signup: false)")
        if gate.get("authentication") == "none" and gate.get("audience") != "internal":
            # (a camera feed or a probe of our own has no callers to multiply: its limit is on the rate)
            return (f"{gate.id} asks callers for no account: a new address is a new caller; limit per payment "
                    "method or device, or ask for accounts you vet")
    if mid == APPROVAL and held_at is not None:
        # the one who asked approves: an adversary that talks to the app itself asks and approves alike
        app = comp if comp.kind == "llm-app" else None
        doors = direct_entries(system, app, True) - {app.id} if app is not None else frozenset()
        if app is not None and app.get("approver") == "requester" and doors and _someone_types(system, doors):
            return f"whoever asks {app.id} approves its actions: an adversary typing to it approves its own calls"
    if mid == ADMITS and held_at is not None:
        # checking who may call keeps out only those who cannot become a caller: not where anyone can, nor
        # an adversary that already is one (a customer, an insider: audits A and G)
        gate = system.component(held_at)
        if technique_id in TYPED:
            # those it admits are the ones who type to the app (staff over a sign-in, a phished account: audit N)
            return f"{gate.id} admits the people who type to it: their prompts are what it lets in"
        if comp.kind == "model" and technique_id.startswith(THROUGH_INPUTS) and gate.id != comp.id \
                and gate.kind == "service" and not door(system, gate):
            # a gate no outsider passes (a scheduled job reading the records system) checks the service that
            # calls it, not whoever wrote what it reads (vitals from bedside monitors: audit J)
            return f"{gate.id} checks who calls it, not who wrote the inputs it passes on"
        if gate.kind == "model" and technique_id.startswith(THROUGH_INPUTS):
            # held on the model itself, it checks callers the doors in front have let through: where each of
            # those lets anyone in, so does it (audit Y: a WAF classifier behind a public front end, no login)
            doors = [c for c in in_front(system, gate) if c.kind == "service" and door(system, c)]
            if doors and all(c.get("authentication") == "none" or c.get("open_signup") is True for c in doors):
                return (f"anyone reaches {gate.id} through {', '.join(c.id for c in doors)} without a vetted "
                        "account: access control has no one to turn away")
        if gate.get("open_signup") is True:
            return f"anyone can open accounts on {gate.id}: access control lets the adversary in as any caller"
        if gate.get("authentication") == "none":
            return f"{gate.id} asks callers for no account: access control has no one to turn away"
        members = [a.id for a in system.of_kind("adversary") if MEMBERS & set(a.get("access") or ())]
        if members and gate.kind == "service" and gate.get("audience") in ("internal", "partner"):
            # the adversary the description fears is a member of the internal or partner services it signs in to
            return f"{members[0]} holds an account or works inside: access control lets it in"
    if mid == "AML.M0025" and held_at is not None and technique_id in POISONING \
            and system.component(held_at).get("writers") in ("public", "partner"):
        # provenance names who sent each record; where anyone may send one, the poisoner is among them
        return (f"outsiders ({system.component(held_at).get('writers')}) write to {held_at}: its provenance names "
                "the poisoner as one sender among many")
    if mid == "AML.M0005" and held_at is not None and technique_id == "AML.T0020" \
            and system.component(held_at).get("writers") in ("public", "partner"):
        # the poisoner writes as of right (audit G: partner hospitals' annotated scans)
        return (f"outsiders ({system.component(held_at).get('writers')}) write to {held_at} as of right: "
                "access control lets the poisoner in")
    if mid == "AML.M0005" and held_at is not None and technique_id in POISONING and any(
            c.kind == "external" for c in system.upstream_of(held_at, untrusted_only=True)):
        # our own flows write it, outsiders' words in them (audit Z: patients' uploads in the summaries staff sign)
        return (f"what outsiders send reaches {held_at} through the flows that write it: access control at rest "
                "lets it in as of right")
    if mid == "AML.M0005" and technique_id.startswith("AML.T0010"):
        # tampered before it reached us: our copy is locked away as it came (audit Z)
        return "a supply chain compromised before the artifact reached us: access control guards our copy as it came"
    if mid in ("AML.M0013", "AML.M0014") and comp.kind == "tool" and comp.get("source") in ("mcp", "third-party") \
            and technique_id in PACKAGERS_OWN:
        # a package from a marketplace or a third party, pinned by hash: the code in it is its publisher's
        return "a pinned hash proves only that the package is the one its publisher made"
    if mid not in ("AML.M0013", "AML.M0014") or comp.kind != "model":
        return ""
    # a signature check on this model's file vouches only for the publisher of the code the finding is about
    if comp.get("source") in ("huggingface", "model-hub") or comp.get("trained_by") == "open-source":
        published = technique_id in PUBLISHERS_OWN
    else:
        published = technique_id in SUPPLIERS_OWN and "vendor" in (comp.get("source"), comp.get("trained_by"))
    return "a checked hash proves only that the file is the one its publisher made" if published else ""


#: Access that sends an app messages of one's own (a caller, a member, someone inside or with a foothold).
TYPING = frozenset({"query", "account", "insider", "network"})


def _someone_types(system: System, doors: frozenset[str]) -> bool:
    """Whether an adversary may type to an app through ``doors`` (its direct entries): any, where the
    description names none; else one of those it names whose access sends messages and reaches a door. One
    who only plants content asks the app nothing, so the person who does ask, and approves, did not ask for
    what the planted text makes it do (audit X: an employee's confirmation of cloud actions was shown
    stopping nothing against a partner agent's injected text)."""
    from ._reach import adversary_access, adversary_reach

    adversaries = system.of_kind("adversary")
    if not adversaries:
        return True
    for adv in adversaries:
        reach = adversary_reach(system, adv)
        if adversary_access(system, adv) & TYPING and (reach is None or reach & doors):
            return True
    return False
