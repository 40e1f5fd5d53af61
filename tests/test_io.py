"""The one atomic writer and the output-path check: permissions, links, failures, messages."""

import os
import stat
import subprocess
import sys

import pytest

from fastnn._io import atomic_write, check_output_path


@pytest.fixture
def umask():
    """``umask(value)`` sets the process umask for the test; the original comes back after."""
    original = os.umask(0o022)
    os.umask(original)
    yield os.umask
    os.umask(original)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_what_the_umask_gives(tmp_path, umask, mask, expected):
    umask(mask)
    with atomic_write(tmp_path / "f.bin") as fh:
        fh.write(b"data")
    assert (tmp_path / "f.bin").read_bytes() == b"data"
    assert mode(tmp_path / "f.bin") == expected
    with open(tmp_path / "plain.bin", "wb"):  # what open() gives, for comparison
        pass
    assert mode(tmp_path / "plain.bin") == expected


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_write(target) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o640


def test_a_symbolic_link_is_written_through(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    with atomic_write(link) as fh:
        fh.write(b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.bin", "real.bin"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failure_leaves_the_old_file_and_no_temporary_file(tmp_path, error):
    target = tmp_path / "f.bin"
    target.write_bytes(b"precious")
    with pytest.raises(type(error)):
        with atomic_write(target) as fh:
            fh.write(b"half")
            raise error
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_a_write_protected_file_is_refused_as_open_refuses_it(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"keep")
    monkeypatch.setattr(os, "access", lambda path, how: False)  # as for a non-root user
    with pytest.raises(PermissionError, match="write-protected") as info:
        with atomic_write(target) as fh:
            fh.write(b"new")
    assert info.value.filename == str(target)
    assert target.read_bytes() == b"keep"


def test_errors_name_the_users_path_not_the_temporary_one(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError) as info:
        with atomic_write(blocker / "f.bin", make_parents=False):
            pass
    assert info.value.filename == str(blocker / "f.bin") and ".tmp" not in str(info.value)
    with pytest.raises(IsADirectoryError) as info:
        with atomic_write(tmp_path):
            pass
    assert info.value.filename == str(tmp_path)


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".f.bin.{dead_pid}.0123abcd.tmp"
    alive = tmp_path / f".f.bin.{os.getppid()}.0123abcd.tmp"  # a live writer's: kept
    other = tmp_path / ".g.bin.1.0123abcd.tmp"  # another file's: not ours to judge
    for p in (stale, alive, other):
        p.write_bytes(b"x")
    with atomic_write(tmp_path / "f.bin") as fh:
        fh.write(b"new")
    assert not stale.exists() and alive.exists() and other.exists()


def test_check_output_path(tmp_path):
    deep = tmp_path / "a" / "b" / "w.npz"
    assert check_output_path(deep, "--save") == deep
    assert deep.parent.is_dir() and not deep.exists()  # only the directories were made
    assert list(deep.parent.iterdir()) == []  # the probe file is gone
    with pytest.raises(IsADirectoryError, match=f"--save: cannot write {tmp_path}: it is a "
                                                "directory"):
        check_output_path(tmp_path, "--save")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError, match=f"--plot: cannot write {blocker}/d/c.png: "
                                                 f"{blocker} is a file, not a directory"):
        check_output_path(blocker / "d" / "c.png", "--plot")
    if os.path.isdir("/proc/self"):
        with pytest.raises(OSError, match="--save: cannot write /proc/w.npz: cannot create "
                                          "files in /proc"):
            check_output_path("/proc/w.npz", "--save")
