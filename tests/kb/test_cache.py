"""The JSON cache of the bundled data: equal to the YAML, refreshed on change, never trusted blindly."""

from __future__ import annotations

import os
import shutil

from advmatrix.kb._bundled import DATA_DIR, _cache_path, load_cached, load_data_dir


def test_cache_is_written_and_gives_the_same_matrix(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = load_cached(DATA_DIR)
    cache = _cache_path(DATA_DIR)
    assert cache.is_file()
    assert load_cached(DATA_DIR) == first == load_data_dir(DATA_DIR)


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load_cached(DATA_DIR)
    cache = _cache_path(DATA_DIR)
    cache.write_text('{"id": "ATLAS", "tactics": [')
    assert load_cached(DATA_DIR).stats().techniques == 101
    assert cache.read_text().startswith('{"id": "ATLAS"') and cache.stat().st_size > 100_000


def test_editing_the_data_changes_the_cache_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    before = _cache_path(data)
    load_cached(data)
    path = data / "techniques.yaml"
    path.write_text(path.read_text().replace("name: Craft Adversarial Data", "name: Craft Bad Data"))
    os.utime(path, ns=(1, 1))
    assert _cache_path(data) != before
    assert load_cached(data).technique("AML.T0043").name == "Craft Bad Data"


def test_cache_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("ADVMATRIX_NO_CACHE", "1")
    assert _cache_path(DATA_DIR) is None
