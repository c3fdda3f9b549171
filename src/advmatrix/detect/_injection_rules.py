"""The prompt-injection detector's signal table, as plain data: every phrasing (a regex) with its
signal name, group and weights by channel, and the words it needs, in English and the other
languages our users write (the form of a rule: :mod:`._injection_rules_vocab`). The families live
in modules of their own; :mod:`._injection_compile` compiles the table and
:mod:`._injection_engine` runs it.

The order is part of the data: rules are tried in it (those that need another signal, ``after``,
last), and of a signal's equally strong matches the first rule's is reported.
"""

from __future__ import annotations

from ._injection_rules_direct import SPECS as DIRECT
from ._injection_rules_indirect import SPECS as INDIRECT
from ._injection_rules_jailbreak import SPECS as JAILBREAK
from ._injection_rules_variants import SPECS as VARIANTS
from ._injection_rules_vocab import RuleSpec

#: every rule: overrides and extraction, indirect and tool, jailbreaks, then further phrasings
TABLE: tuple[RuleSpec, ...] = (*DIRECT, *INDIRECT, *JAILBREAK, *VARIANTS)
