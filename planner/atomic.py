"""Atomic output: a file or a folder appears complete, or not at all.

A plan that crashes (or is interrupted) half-way must not leave a half-written CSV that a later
reader trusts. Files are written to a temporary sibling and moved into place with os.replace
(atomic on POSIX and Windows within one file system); an output folder is built in a temporary
sibling folder and renamed into place only when everything in it has been written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from planner.errors import InputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_sibling(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new temporary file beside `path` (same folder, so os.replace never crosses devices)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    return fd, Path(name)


def write_bytes_atomic(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` through a temporary sibling and os.replace; returns the path.

    On any failure the temporary file is removed and `path` keeps its old content (or stays
    absent). The parent folder must exist."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist; allowed: a path in an "
                         "existing folder")
    fd, temp = _temp_sibling(path)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not land before the bytes do
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return path


def write_text_atomic(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (see write_bytes_atomic)."""
    return write_bytes_atomic(path, text.encode(encoding))


def check_writable_folder(parent: Path, what: str) -> None:
    """InputError (exit 2) unless `parent` is a folder where a new folder can be made: tried,
    since permission bits do not tell everything (read-only mounts, immutable folders)."""
    parent = parent if str(parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{what}: folder {parent} does not exist; allowed: a path in an "
                         "existing folder")
    try:
        Path(tempfile.mkdtemp(prefix=".planner-check.", dir=parent)).rmdir()
    except OSError as exc:
        raise InputError(f"{what}: cannot write in folder {parent} ({exc.strerror or exc}); "
                         "allowed: a folder you can write to") from None


@contextlib.contextmanager
def atomic_directory(path: Path | str, force: bool = False) -> Iterator[Path]:
    """Build an output folder in a temporary sibling; rename it to `path` only on success.

        with atomic_directory(out_dir, force=args.force) as tmp:
            (tmp / "plan.csv").write_text(...)

    An existing `path` is refused with InputError (exit 2) unless `force`, in which case it is
    replaced only after the new folder is complete. If the body raises (or Ctrl-C arrives), the
    temporary folder is deleted and `path` is left as it was."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"{path}: already exists; allowed: a new folder, or pass --force to "
                         "replace it")
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: exists and is not a folder; allowed: a folder path")
    parent = path.parent if str(path.parent) else Path(".")
    check_writable_folder(parent, str(path))
    temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent))
    try:
        os.chmod(temp, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
        yield temp
        if path.exists():
            # Swap: move the old folder aside first so the new one lands in a single rename.
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
            old.rmdir()
            os.replace(path, old)
            try:
                os.replace(temp, path)
            except BaseException:
                os.replace(old, path)  # put the previous output back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, path)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


__all__ = ["atomic_directory", "write_bytes_atomic", "write_text_atomic"]
