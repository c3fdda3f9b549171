"""Controls an agent's tools hold one by one (approval, permissions, validating what goes in and out): where
such a control stands for an app's finding that names tools.

Public through :mod:`advmatrix.threatmodel._advice`.
"""

from __future__ import annotations

from ._placement import holds
from .system import Component, System

__all__ = ["ACTS_THROUGH_TOOLS", "APPROVAL", "PERMISSIONS", "PER_TOOL", "TOOL_CONTROLS", "acts", "on_the_tools",
           "written_by_outsiders"]

#: Agent controls that can be set per tool (a person approves payments, not page loads; one tool's
#: rights trimmed): listed on a tool, they count for a finding of its app only when every tool the
#: finding's reason names lists them.
PER_TOOL = frozenset({"AML.M0029", "AML.M0028", "AML.M0030", "AML.M0033"})
#: What an app is made to do with its tools: invoking them, sending data out, destroying data through them.
ACTS_THROUGH_TOOLS = frozenset({"AML.T0053", "AML.T0086", "AML.T0101"})
#: Controls of an agent's tools (their permissions, approving their actions, calling none on untrusted data):
#: nothing to set on an app that calls no tools.
TOOL_CONTROLS = frozenset({"AML.M0028", "AML.M0029", "AML.M0030"})
#: Human In-the-Loop for AI Agent Actions; AI Agent Tools Permissions Configuration.
APPROVAL = "AML.M0029"
PERMISSIONS = "AML.M0028"


def acts(tool: Component) -> bool:
    """Whether ``tool`` does something beyond reading: an action a person could approve, or its arguments check."""
    return tool.get("side_effects") not in ("none", "read")


def written_by_outsiders(system: System, tool: Component) -> bool:
    """Whether outsiders write what ``tool`` reads: an outside party feeds it straight, or a data set or store it
    reads that a service or an outside party feeds (mail anyone sends, through the gateway into the mailbox it
    searches), over flows not marked trusted. Then scoping it to the asker's rows stops no instruction hidden
    there: that acts as the asker, and gets the asker's data (audit P). The AML.T0098 rules ask the same of the
    tool's ``fed_by``."""
    into = system.flows_into(untrusted=True)
    for a in into.get(tool.id, ()):
        c = system.component(a)
        if c.kind == "external" or (c.kind in ("dataset", "retrieval-store") and any(
                system.component(b).kind in ("service", "external") for b in into.get(c.id, ()))):
            return True
    return False


def on_the_tools(system: System, mid: str, named: frozenset[str],
                  technique_id: str = "") -> tuple[list[Component], str | None] | None:
    """For an app's finding that names tools, where ``mid`` stands when set per tool: (the named tools that
    lack it, None), or ([the first], its id) when all hold it; ``None`` when no named tool holds it."""
    tools = [c for c in system.components if c.id in named and c.kind == "tool"]
    if mid == APPROVAL or (mid in PER_TOOL and technique_id in ACTS_THROUGH_TOOLS):
        # what its tools are made to do is checked where they act: a lookup that only reads acts on nothing
        # (and a person approves actions: a tool that only reads, a news lookup, takes none to wait for)
        acting = [t for t in tools if acts(t)]
        tools = acting or tools
    def has(t: Component) -> bool:  # a tool that reaches only the asker's own records has its permissions set
        return holds(t, mid) or (mid == PERMISSIONS and t.get("per_user") is True
                                 and not written_by_outsiders(system, t))
    if not any(has(t) for t in tools):
        return None
    lacking = [t for t in tools if not has(t)]
    return (lacking, None) if lacking else ([tools[0]], tools[0].id)


