"""The README's target description and ``.npz`` layout name what the code takes, no more, no less."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_target_description_keys_are_the_ones_taken():
    from advmatrix.targets._kinds import DescriptionParams
    from advmatrix.targets.kinds import KServeKind

    block = re.search(r"```yaml\n(protocol: kserve.*?)```", README, re.S).group(1)
    description = yaml.safe_load(block)
    assert set(description) <= set(KServeKind.Params.model_fields)
    assert set(DescriptionParams.model_fields) - {"n_classes"} <= set(description)
    KServeKind.Params(**{**description, "classes": ["a", "b"]})  # the example validates


def test_npz_layout_lists_every_array_read():
    from advmatrix.emulate._data import _FIELDS

    documented = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)? \|", README, re.M))
    names = {n for pair in documented for n in pair if n}
    assert set(_FIELDS) <= names
