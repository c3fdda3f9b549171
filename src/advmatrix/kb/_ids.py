"""Names derived from IDs that every format needs the same way."""

from __future__ import annotations

import re

ATLAS_URL = "https://atlas.mitre.org"


def tactic_shortname(name: str) -> str:
    """The kill-chain phase name of a tactic, as ATT&CK-style tools expect ("AI Attack Staging"
    becomes "ai-attack-staging")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and")).strip("-")


def atlas_url(object_id: str) -> str:
    section = {"TA": "tactics", "T": "techniques", "M": "mitigations", "CS": "studies"}
    prefix = re.match(r"AML\.([A-Z]+)", object_id)
    kind = section.get(prefix.group(1), "techniques") if prefix else "techniques"
    return f"{ATLAS_URL}/{kind}/{object_id}"
