"""Atomic replacement of files and stores: write to a temporary sibling, then move it into place.

Every writer of this package (``write``, the batched writer, ``write_dask``, ``write_nwb``) writes to a
hidden sibling of the destination and moves it over the destination only when complete, so a failed write
never leaves a partial file at the destination, and an existing file stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import DiskSpaceError

__all__ = [
    "OUT_OF_ROOM",
    "check_replaceable",
    "check_room",
    "move_into_place",
    "out_of_room_typed",
    "recover_replacement",
    "remove",
    "temporary_sibling",
    "unchanged_since",
]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray")


@contextlib.contextmanager
def temporary_sibling(target: Path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """A fresh hidden path next to ``target``, removed on exit if it is still there (moved or not).

    ``keep_suffix``: the name ends as ``target``'s does (pynwb warns about HDF5 files not ending in .nwb).
    """
    recover_replacement(target)
    tag = uuid.uuid4().hex[:8]
    tmp = target.with_name(f".tmp-{tag}-{target.name}" if keep_suffix else f".{target.name}.{tag}.tmp")
    _check_writable(target, tmp)
    try:
        with out_of_room_typed(target, "nothing was written: what was at the destination is as it was"):
            yield tmp
    except BaseException:
        _remove_settled(tmp)
        raise
    finally:
        remove(tmp)


def _remove_settled(path: Path, *, settle_s: float = 0.5) -> None:
    """Remove ``path`` after a failed write, and again if writes still under way recreate it.

    When one of zarr's chunk writes fails, zarr raises while others are in flight on its threads; they end within
    moments, but each creates its chunk's directories first (seen under load: a store's ``c/5`` directory
    appearing after the temporary store was removed)."""
    deadline = time.monotonic() + settle_s
    remove(path)
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if path.exists() or path.is_symlink():
            remove(path)


#: what an OSError says when the disk is full, the quota used, or the file past the process's size limit
OUT_OF_ROOM = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


@contextlib.contextmanager
def out_of_room_typed(target: Path, outcome: str) -> Iterator[None]:
    """Raise a full disk met in the block (an ``OSError`` of :data:`OUT_OF_ROOM`, as zarr raises it) as a
    :class:`~hdmf_ai.errors.DiskSpaceError` naming ``target`` and saying what became of it (``outcome``).

    HDF5 writes never get here: HDF5 cannot survive running out of space, so its writers check the room first
    (:func:`check_room`). Zarr writes fail cleanly, chunk by chunk; their room is not estimated beforehand (a
    bound from the uncompressed size would refuse what compresses to fit).
    """
    try:
        yield
    except DiskSpaceError:
        raise
    except OSError as err:
        if err.errno not in OUT_OF_ROOM:
            raise
        raise DiskSpaceError(err.errno, target, f"ran out of room while writing ({err.strerror}); {outcome}") from err


def check_replaceable(target: Path) -> None:
    """Refuse to replace anything at ``target`` but an HDF5 file, a Zarr store or an empty directory.

    ``overwrite=True`` means "replace my results file", never "delete this folder of other files": a ``.h5`` or
    ``.zarr`` path that names an ordinary directory (or a file of another kind) is refused, and nothing is lost.
    """
    if target.is_symlink() or not target.exists():
        return  # a link is replaced, not followed; nothing there is nothing to lose
    if target.is_dir():
        if any((target / marker).exists() for marker in _ZARR_MARKERS) or not any(target.iterdir()):
            return
        kind = "a directory of other files, not a Zarr store"
    elif target.is_file():
        if _is_hdf5(target):
            return
        kind = "a file that is not an HDF5 file"
    else:
        kind = "not a regular file or directory"
    raise FileExistsError(
        f"{target} exists and is {kind}: it is not replaced (remove it yourself, or choose another path)"
    )


def check_room(target: Path, needed: int, *, grows: bool = False) -> None:
    """Refuse, with :class:`~hdmf_ai.errors.DiskSpaceError`, a file of up to ``needed`` bytes at ``target`` that
    would not fit: in the free space of its file system, or under the process's file-size limit (``ulimit -f``).
    ``grows``: ``needed`` bytes are added to the file already at ``target`` (the limit is on its final size).
    """
    where = target.parent if str(target.parent) else Path(".")
    stats = os.statvfs(where)
    free = stats.f_bavail * stats.f_frsize
    limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    mib = 2**20
    outcome = "nothing more was written (the rows before are kept)" if grows else "nothing was written"
    if needed > free:
        raise DiskSpaceError(
            errno.ENOSPC,
            target,
            f"needs up to {needed / mib:,.1f} MiB (its data uncompressed) and {where} has {free / mib:,.1f} MiB "
            f"free; {outcome}",
        )
    final = needed + (target.stat().st_size if grows and target.is_file() else 0)
    if limit != resource.RLIM_INFINITY and final > limit:
        raise DiskSpaceError(
            errno.EFBIG,
            target,
            f"would take up to {final / mib:,.1f} MiB (its data uncompressed), over this process's file-size "
            f"limit of {limit / mib:,.1f} MiB (ulimit -f); {outcome}",
        )


def _is_hdf5(path: Path) -> bool:
    """HDF5's signature at offset 0, or after a user block (512 bytes, doubling), as HDF5 itself looks."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset + 8 <= size:
            f.seek(offset)
            if f.read(8) == _HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else 2 * offset
    return False


def _check_writable(target: Path, tmp: Path) -> None:
    """Refuse, naming ``target`` and the OS's reason, a destination whose directory cannot take a new file.

    Asked before any library writes: their own messages name the hidden temporary file and their internals.
    """
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as err:
        reason = err.strerror or str(err)
        where = target.parent if str(target.parent) else Path(".")
        raise type(err)(err.errno, f"cannot write here ({where}): {reason}", str(target)) from None
    os.unlink(tmp)


def move_into_place(tmp: Path, target: Path, *, replace: bool = True) -> None:
    """Put ``tmp`` at ``target``: a rename for files; for a Zarr store (a directory), two renames.

    What is at ``target`` must be replaceable (:func:`check_replaceable`); otherwise nothing is moved.
    ``replace=False`` (a write without ``overwrite``): the move fails with :class:`FileExistsError` if something
    appeared at ``target`` since the write began (another writer won the race), and that file is kept.
    """
    if not replace:
        _move_without_replacing(tmp, target)
        return
    recover_replacement(target)
    check_replaceable(target)
    if target.is_dir() and not target.is_symlink():  # a Zarr store cannot be replaced by rename alone
        # the process id in the name: a run killed between the two renames is told from one still running
        old = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.old")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def recover_replacement(target: Path) -> None:
    """Finish what a write killed while replacing the store ``target`` left behind (:func:`move_into_place`).

    Killed between its two renames, it left the old store aside as ``.<name>.<pid>-<tag>.old`` and nothing at
    ``target``: the old store is put back (the write did not complete, so the destination is as before).
    Killed after them, it left the old store beside the new one: that is removed. Stores set aside by a process
    still running (another writer, between its renames) are left alone.
    """
    prefix, suffix = f".{target.name}.", ".old"
    try:
        found = [p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(suffix)]
    except OSError:  # the directory cannot be listed: the write that follows says why
        return
    stale = [p for p in found if not _running(p.name[len(prefix) : -len(suffix)].split("-")[0])]
    if not stale:
        return
    stale.sort(key=lambda p: p.lstat().st_ctime_ns)  # the latest set aside is the one the destination had
    if not (target.exists() or target.is_symlink()):
        with contextlib.suppress(OSError):
            os.rename(stale.pop(), target)  # a directory onto a missing name: no other store is replaced
    for leftover in stale:
        shutil.rmtree(leftover, ignore_errors=True)


def _running(pid: str) -> bool:
    """Whether a process id (from a name) is a live process; names without one (older versions) are not."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _move_without_replacing(tmp: Path, target: Path) -> None:
    said = "another writer created it while this write ran; kept theirs, this write is discarded"
    lost = FileExistsError(errno.EEXIST, said, str(target))
    if target.exists() or target.is_symlink():
        raise lost
    if tmp.is_dir():
        try:  # a directory renames onto a missing or an empty one only: a store that appeared meanwhile stays
            os.rename(tmp, target)
        except OSError as err:
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise lost from None
            raise
        return
    try:  # a hard link is created only if the name is free: atomic no-clobber, where the file system has links
        os.link(tmp, target)
    except FileExistsError:
        raise lost from None
    except OSError:  # no hard links here (some network or FAT file systems): the short race of a check
        if target.exists():
            raise lost from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def unchanged_since(target: Path) -> Callable[[], None]:
    """A check to call just before replacing ``target`` with an edited copy of it: raises FileExistsError if
    ``target`` changed in between (another writer's edit would otherwise be lost)."""
    before = _signature(target)

    def check() -> None:
        if _signature(target) != before:
            raise FileExistsError(
                errno.EEXIST, "changed by another writer while this one worked on a copy; kept theirs", str(target)
            )

    return check


def _signature(path: Path) -> tuple[tuple[int, int, int], ...]:
    """Identity and last change of a file, or of a store's directory and the files at its top (a Zarr store
    rewrites its consolidated metadata there on every change)."""
    items = [path]
    if path.is_dir():
        items += sorted(p for p in path.iterdir() if p.is_file())
    return tuple((st.st_ino, st.st_size, st.st_mtime_ns) for st in (os.stat(p) for p in items))


def remove(path: Path) -> None:
    """Remove a file or a store, if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
