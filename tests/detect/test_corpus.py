"""The labelled prompt set (bench/data/chat_prompts.yaml), the benign conversations and the
prompt-similarity detector's exemplars: they load, are as large and as varied as the detectors'
evaluation needs, split the same way every time, and the exemplars (the detector's knowledge)
share no text with the labelled set (the exam)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from advmatrix.detect.semantic import FAMILY_TECHNIQUES, exemplars

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"

ATTACK_FAMILIES = {"override", "extraction", "jailbreak", "indirect", "exfiltration", "tool-abuse",
                   "special-tokens", "code", "long", "multilingual"}
BENIGN_FAMILIES = {"coding", "support", "quoting", "security-education", "markdown", "long", "multilingual",
                   "roleplay", "tool-results"}


@pytest.fixture(scope="module")
def items() -> list[dict]:
    doc = yaml.safe_load((DATA / "chat_prompts.yaml").read_text(encoding="utf-8"))
    assert doc["version"] == 1
    return doc["items"]


@pytest.fixture(scope="module")
def conversations() -> list[dict]:
    doc = yaml.safe_load((DATA / "benign_conversations.yaml").read_text(encoding="utf-8"))
    assert doc["version"] == 1
    return doc["conversations"]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def test_items_are_well_formed_and_ids_unique(items):
    assert {tuple(sorted(i)) for i in items} == {("channel", "family", "id", "label", "split", "text")}
    assert len({i["id"] for i in items}) == len(items)
    for i in items:
        assert i["label"] in ("attack", "benign")
        assert i["channel"] in ("user", "tool_result")
        assert isinstance(i["text"], str) and i["text"].strip()


def test_split_is_the_hash_of_the_id(items):
    for i in items:
        tune = int(hashlib.sha256(i["id"].encode()).hexdigest()[:8], 16) % 2 == 0
        assert i["split"] == ("tune" if tune else "test"), i["id"]


def test_sizes_and_family_minimums(items):
    attacks = Counter(i["family"] for i in items if i["label"] == "attack")
    benign = Counter(i["family"] for i in items if i["label"] == "benign")
    assert sum(attacks.values()) >= 260 and sum(benign.values()) >= 400
    assert set(attacks) == ATTACK_FAMILIES and set(benign) == BENIGN_FAMILIES
    assert min(attacks.values()) >= 15, attacks
    assert min(benign.values()) >= 25, benign


def test_both_splits_hold_both_labels_and_every_family(items):
    for split in ("tune", "test"):
        assert {i["label"] for i in items if i["split"] == split} == {"attack", "benign"}
    families = Counter((i["label"], i["family"]) for i in items)
    for (label, family), n in families.items():
        if n >= 4:
            splits = {i["split"] for i in items if i["label"] == label and i["family"] == family}
            assert splits == {"tune", "test"}, (label, family)


def test_no_duplicate_texts(items):
    texts = Counter(_norm(i["text"]) for i in items)
    assert [t[:60] for t, n in texts.items() if n > 1] == []


def test_long_items_are_2_to_8_kb_and_channels_fit_the_family(items):
    for i in items:
        if i["family"] == "long":
            assert 2000 <= len(i["text"].encode()) <= 8192, i["id"]
        if i["label"] == "attack" and i["family"] == "indirect":
            assert i["channel"] == "tool_result", i["id"]
        if i["family"] == "tool-results":
            assert i["channel"] == "tool_result", i["id"]


def test_attacks_aim_at_reserved_hosts_only(items):
    """Attack texts point at example.com-style or .test hosts (and the usual internal targets), never
    at a real site."""
    for i in items:
        if i["label"] != "attack":
            continue
        for host in re.findall(r"https?://([^/\s?:)\"'>]+)", i["text"]):
            assert host.endswith(".test") or "example." in host or host in ("localhost", "169.254.169.254"), \
                (i["id"], host)


def test_exemplars_load_with_known_families():
    attacks, benign = exemplars("known_attacks"), exemplars("known_benign")
    assert len(attacks) >= 150 and len(benign) >= 150
    assert {e["family"] for e in attacks} <= set(FAMILY_TECHNIQUES)
    assert len({_norm(e["text"]) for e in attacks + benign}) == len(attacks) + len(benign)


def test_exemplars_share_no_text_with_the_labelled_set(items):
    """The detector's exemplars are its knowledge, the labelled set its exam: no text in both, not
    even nearly (word trigram overlap stays low)."""
    known = [e["text"] for e in exemplars("known_attacks") + exemplars("known_benign")]
    labelled = {_norm(i["text"]) for i in items}
    assert [t for t in known if _norm(t) in labelled] == []
    known_shingles = [s for s in map(_shingles, known) if s]
    for i in items:
        mine = _shingles(i["text"])
        if mine:
            worst = max(len(mine & s) / len(mine | s) for s in known_shingles)
            assert worst < 0.5, i["id"]


def test_conversations_are_well_formed(conversations):
    assert len(conversations) >= 40
    assert len({c["id"] for c in conversations}) == len(conversations)
    assert sum(len(c["messages"]) >= 10 for c in conversations) >= 5
    assert sum(any(m.get("tool_calls") for m in c["messages"]) for c in conversations) >= 10
    for c in conversations:
        pending: list[str] = []
        for m in c["messages"]:
            assert m["role"] in ("system", "user", "assistant", "tool"), c["id"]
            assert isinstance(m["content"], str)
            for call in m.get("tool_calls", []):
                assert call["type"] == "function" and call["function"]["name"] in c["tools"], c["id"]
                json.loads(call["function"]["arguments"])
                pending.append(call["id"])
            if m["role"] == "tool":
                assert m["tool_call_id"] in pending, c["id"]
                pending.remove(m["tool_call_id"])
        assert pending == [], c["id"]
        assert c["messages"][-1]["role"] == "assistant", c["id"]


def test_conversations_share_no_text_with_the_labelled_set(items, conversations):
    labelled = {_norm(i["text"]) for i in items}
    for c in conversations:
        for m in c["messages"]:
            assert _norm(m["content"]) not in labelled or not m["content"], c["id"]
