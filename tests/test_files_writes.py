"""Writing results never replaces what the destination is: a link keeps pointing where it did, a
device or pipe is written into, and the file being read is never an output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from advmatrix._files import write_atomic
from advmatrix.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def test_a_link_is_followed_and_kept(tmp_path):
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    write_atomic(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").is_symlink() and (tmp_path / "real.json").read_text() == "new"


def test_a_device_is_written_into_not_replaced():
    write_atomic("/dev/null", "anything")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_device_is_one_error_and_stays_a_device():
    with pytest.raises(UsageError, match=r"^/dev/full: cannot write: No space left on device$"):
        write_atomic("/dev/full", "x")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_threatmodel_refuses_to_write_over_its_input_or_one_output_over_another(cli, tmp_path):
    system = tmp_path / "system.yaml"
    system.write_bytes((ROOT / "examples" / "systems" / "fraud-model.yaml").read_bytes())
    before = system.read_bytes()
    r = cli("threatmodel", system, "--emit-assess-plan", system)
    assert r.code == 2 and "is the input" in r.err and system.read_bytes() == before
    r = cli("threatmodel", system, "-o", tmp_path / "out", "-f", "json",
            "--emit-monitor-config", tmp_path / "out" / "threatmodel.json")
    assert r.code == 2 and "both the json and the monitor_config output" in r.err
    assert not (tmp_path / "out" / "threatmodel.json").exists()


def test_a_failure_part_way_leaves_no_new_output_behind(cli, tmp_path, monkeypatch):
    """One of the five reports fails to write (a full disk): none of the five appears."""
    real = Path.write_text

    def write_text(self, *args, **kwargs):
        if ".sarif." in self.name:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    system = ROOT / "examples" / "systems" / "fraud-model.yaml"
    r = cli("threatmodel", system, "-o", tmp_path / "out")
    assert r.code == 2 and "threatmodel.sarif: cannot write: No space left on device; nothing was written" in r.err
    assert not (tmp_path / "out").exists()  # the directory this run made goes too


def test_threatmodel_never_writes_over_a_rule_file_or_reads_an_empty_path_as_here(cli, tmp_path):
    system = ROOT / "examples" / "systems" / "fraud-model.yaml"
    rules = tmp_path / "mine.yaml"
    rules.write_text("rules:\n  - id: AML.T0015\n    when: {kind: model}\n    reason: \"{component} matched\"\n")
    before = rules.read_bytes()
    r = cli("threatmodel", system, "--rules", rules, "--emit-monitor-config", rules)
    assert r.code == 2 and "is the input" in r.err and rules.read_bytes() == before
    for args, says in ((("",), "(got an empty path)"), ((system, "--overlay", ""), "--overlay: an empty value")):
        r = cli("threatmodel", *args)
        assert r.code == 2 and says in r.err, args


def test_a_file_in_the_way_of_a_directory_is_named_as_such(tmp_path):
    from advmatrix._files import check_writable
    from advmatrix.errors import UsageError

    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match=r"afile is a file, not a directory"):
        check_writable(tmp_path / "afile" / "sub" / "x.yaml")
    with pytest.raises(UsageError, match=r"directory .*nodir does not exist"):
        check_writable(tmp_path / "nodir" / "x.yaml")
