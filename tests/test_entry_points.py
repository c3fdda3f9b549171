"""The entry-point reader sees what importlib.metadata sees, for every group of the installed
distributions and for a plugin package put on the path later."""

from __future__ import annotations

import importlib.metadata as metadata
import sys

from advmatrix import _entry_points


def _theirs(group: str) -> set[tuple[str, str, str]]:
    return {(ep.name, ep.value, ep.dist.name if ep.dist else "") for ep in metadata.entry_points(group=group)}


def _ours(group: str) -> set[tuple[str, str, str]]:
    return {(ep.name, ep.value, ep.dist) for ep in _entry_points.entry_points(group)}


def test_agrees_with_importlib_metadata_on_every_installed_group():
    groups = {ep.group for dist in metadata.distributions() for ep in dist.entry_points}
    assert "console_scripts" in groups and len(groups) > 5
    for group in sorted(groups):
        assert _ours(group) == _theirs(group), group


def test_sees_a_package_put_on_the_path_and_loads_it(tmp_path, monkeypatch):
    package = tmp_path / "ep_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("class Thing:\n    class Inner:\n        pass\n")
    info = tmp_path / "ep_probe_pkg-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-probe.pkg\nVersion: 2.0\n\nA long description.\n")
    (info / "entry_points.txt").write_text("# a comment\n[advmatrix.detectors]\nprobe = ep_probe_pkg:Thing.Inner\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (ep,) = _entry_points.entry_points("advmatrix.detectors")
    assert (ep.name, ep.dist) == ("probe", "ep-probe.pkg") == (next(iter(_theirs("advmatrix.detectors")))[0],
                                                               next(iter(_theirs("advmatrix.detectors")))[2])
    assert ep.load() is sys.modules["ep_probe_pkg"].Thing.Inner
