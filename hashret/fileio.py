"""Crash-safe file writing: every file hashret writes goes to a temporary name beside its
target and is renamed into place, so a target is always the old file or the new one."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from .errors import HashretError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_sibling(target: Path, tag: str = "tmp") -> Path:
    """A unique hidden name in the target's folder (same file system, so rename is atomic)."""
    target = Path(target)
    return target.with_name(f".{target.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_file(target):
    """Yield a temporary path; on success it is synced and renamed onto ``target``; on
    failure it is removed and ``target`` is untouched."""
    target = Path(target)
    if target.is_dir():
        raise HashretError(f"{target} is a folder; give a file name to write to")
    if not target.parent.exists():
        raise HashretError(f"folder {target.parent} does not exist; create it first")
    tmp = temp_sibling(target)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if the
    platform cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)),
            ctypes.c_uint(_RENAME_EXCHANGE))
    return rc == 0


def replace_dir(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` at ``target``, replacing what is there.

    Where the OS can swap two paths atomically, a reader sees the old folder or the new
    one, never neither; elsewhere the old folder is renamed aside first (restored by
    :func:`recover_dir` if the process dies between the two renames).
    """
    new, target = Path(new), Path(target)
    if not target.exists():
        os.rename(new, target)
    elif _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)          # `new` now holds the old folder
    else:
        old = temp_sibling(target, "old")
        os.rename(target, old)
        os.rename(new, target)
        shutil.rmtree(old, ignore_errors=True)
    with contextlib.suppress(OSError):
        fsync_path(target.parent)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_dir(target: Path) -> list[Path]:
    """Clean up after builds that died: remove their temporary folders (when the process
    that made them is gone) and put back a folder left renamed aside. Returns what was
    removed."""
    target = Path(target)
    removed = []
    if not target.parent.exists():
        return removed
    for p in target.parent.glob(f".{target.name}.*-*-*"):
        kind, _, rest = p.name[len(target.name) + 2:].partition("-")
        pid = rest.split("-")[0]
        if kind not in ("tmp", "old") or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        if kind == "old" and not target.exists():
            os.rename(p, target)
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def safe_child(folder, name: str, suffix: str = "") -> Path:
    """A path for ``name`` inside ``folder`` that cannot point outside it, whatever the name
    holds (``../``, absolute paths, separators, NUL, control characters): unsafe
    characters become ``_`` and the result is checked to lie within ``folder``."""
    folder = Path(folder).resolve()
    clean = "".join(ch if ch.isprintable() and ch not in '/\\:*?"<>|\0' else "_"
                    for ch in str(name)).strip(" .") or "_"
    clean = clean[:200] + suffix
    path = (folder / clean).resolve()
    if path.parent != folder:
        raise HashretError(f"output name {name!r} would leave {folder}")
    return path


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                      # not on Linux
        return max(1, os.cpu_count() or 1)


def files_sha256(paths) -> list[str]:
    """:func:`file_sha256` of several files, hashed on as many threads as there are cores
    (hashlib releases the GIL while it hashes)."""
    paths = list(paths)
    if len(paths) <= 1:
        return [file_sha256(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor
    # the largest first, so that one large file does not start last
    order = sorted(range(len(paths)), key=lambda i: -Path(paths[i]).stat().st_size)
    with ThreadPoolExecutor(min(len(paths), usable_cores())) as pool:
        digests = dict(zip(order, pool.map(file_sha256, [paths[i] for i in order])))
    return [digests[i] for i in range(len(paths))]
