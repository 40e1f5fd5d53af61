"""Writing files the user keeps: one atomic writer and one check of an output path.

Every file fastnn writes (saved networks, pictures, histories, IDX files, the benchmark report)
goes through :func:`atomic_write`, so they all behave as a plain ``open(path, "wb")`` would
from the user's point of view, with one difference: a reader never sees a half-written file.

* The data go to a temporary file next to the target, which is flushed, ``fsync``-ed and then
  renamed over it; any failure or interrupt removes the temporary file.
* Permissions are what ``open()`` gives: a new file gets ``0o666`` minus the umask, a file
  that is replaced keeps its mode; a write-protected file is refused as ``open()`` refuses it.
* A symbolic link is written through to its target, as ``open()`` does, not replaced.
* Errors name the user's path, never the temporary one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from pathlib import Path

__all__ = ["atomic_write", "check_output_path"]

_TMP_SUFFIX = ".tmp"


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}")


def _remove_stale_temps(target: Path) -> None:
    """Remove our own temporary files for ``target`` left behind by processes that died
    (a ``kill -9`` mid-write leaves one; nothing else can)."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]{{8}}{_TMP_SUFFIX}$")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        match = pattern.match(name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(target.parent / name)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def _resolve(path) -> Path:
    """The file ``open(path, "w")`` would write: ``~`` expanded, symbolic links followed."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _as_user_error(exc: OSError, path) -> OSError:
    """``exc`` with ``path`` as its file name (not our temporary file's)."""
    return type(exc)(exc.errno, exc.strerror or str(exc), os.fspath(path))


@contextlib.contextmanager
def atomic_write(path, *, make_parents=True):
    """Open ``path`` for binary writing so that it is replaced only once completely written.

    Parameters
    ----------
    path : str or os.PathLike
        The destination (``~`` is expanded; a symbolic link is written through).
    make_parents : bool, default True
        Create missing parent directories.

    Yields
    ------
    file object
        Open for binary writing; write the whole content, then leave the ``with`` block.

    Raises
    ------
    OSError
        Naming ``path``: for example ``IsADirectoryError`` if it is a directory,
        ``PermissionError`` if it or its directory is write-protected.
    """
    target = _resolve(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", os.fspath(path))
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        existing = target.stat() if target.exists() else None
        if existing is not None and not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, "the file is write-protected", os.fspath(path))
        _remove_stale_temps(target)
        tmp = _temp_name(target)
        # 0o666 lets the umask decide, as open() does (mkstemp would give 0o600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    except OSError as exc:
        raise _as_user_error(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if existing is not None:
            os.chmod(tmp, existing.st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where we can
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def check_output_path(path, what="output"):
    """Check, before any long work, that :func:`atomic_write` will be able to write ``path``.

    The directory must exist or be creatable and accept a new file (tried with an empty
    temporary file, removed at once), and ``path`` must not be a directory or a
    write-protected file. Nothing else is created except missing directories.

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file is, for the message (e.g. ``"--save"``).

    Returns
    -------
    pathlib.Path
        The absolute path as the user gave it (symbolic links not resolved).

    Raises
    ------
    OSError
        With a message naming ``what`` and ``path`` and saying what is wrong.
    """
    shown = os.fspath(path)
    absolute = Path(os.path.abspath(os.path.expanduser(shown)))
    target = _resolve(path)
    prefix = f"{what}: cannot write {shown}"
    if shown.endswith(os.sep) or target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{prefix}: it is a directory, not a file name",
                                shown)
    directory = target.parent
    blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{prefix}: {blocker} is a file, not a "
                                 "directory", shown)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise type(exc)(exc.errno, f"{prefix}: cannot create the directory {directory} "
                        f"({exc.strerror or exc})", shown) from None
    probe = _temp_name(target)
    try:  # the only reliable test (access() says yes to root, even on /proc)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise type(exc)(exc.errno, f"{prefix}: cannot create files in {directory} "
                        f"({exc.strerror or exc})", shown) from None
    os.unlink(probe)
    if target.exists() and not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, f"{prefix}: the file is write-protected", shown)
    return absolute
