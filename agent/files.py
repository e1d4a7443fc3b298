"""Files of a run: the one atomic writer (a crash leaves the old file or the new one, never half of one; fsync
before the rename; the umask's file mode), JSON and JSON-lines helpers, and output-folder checks."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMP_MARK = ".partial-"
"""Temp files of an atomic write are ``.<name>.partial-<pid>``: :func:`remove_partial_files` finds those a killed
writer left."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: bytes | str | Callable[[io.BufferedWriter], None]) -> None:
    """Write ``data`` (bytes, text, or a function writing into the open file) to ``path`` atomically: a temp file
    beside it, fsync, ``os.replace``, fsync of the folder. The file gets the umask's mode, as a plain ``open``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    try:  # the rename itself survives a power cut only once the folder is synced
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # some filesystems refuse fsync on a folder; the data itself is synced
        pass


def remove_partial_files(folder: str | Path) -> list[Path]:
    """Delete the temp files of atomic writes a killed process left in ``folder``; returns them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if p.name.startswith(".") and TMP_MARK in p.name and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def check_writable_dir(path: str | Path, flag: str = "--out") -> Path:
    """Create folder ``path`` if needed and check that files can be written there (before any work is done);
    a ValueError naming ``flag`` otherwise."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".write-test{TMP_MARK}{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"{flag} {str(p)!r} is not a writable folder ({e.strerror or e}); choose another") from None
    return p


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically."""
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True, default=str))


class CorruptFileError(RuntimeError):
    """A JSON file of a run that cannot be parsed; the message names it and how to recover."""


def read_json(path: str | Path) -> Any:
    """Read JSON with an error that names the file (and line:col) when it is corrupt."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        where = f"{path}:{e.lineno}:{e.colno}" if isinstance(e, json.JSONDecodeError) else str(path)
        raise CorruptFileError(f"{where}: corrupt JSON ({e.msg if isinstance(e, json.JSONDecodeError) else e}); "
                               "restore it from a backup or delete it") from None


def append_jsonl(path: str | Path, row: dict[str, Any]) -> None:
    """Append one JSON line (flushed; a torn last line is dropped by :func:`read_jsonl`)."""
    with open(path, "a") as f:
        f.write(json.dumps(row, default=float) + "\n")
        f.flush()


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a torn last line (crash mid-write) is skipped."""
    p = Path(path)
    if not p.exists():
        return []
    rows = []
    for line in p.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def truncate_jsonl(path: str | Path, max_step: int) -> None:
    """Keep rows with ``step <= max_step`` (after resuming from a checkpoint at ``max_step``)."""
    p = Path(path)
    if p.exists():
        atomic_write(p, "".join(json.dumps(r) + "\n" for r in read_jsonl(p) if r.get("step", 0) <= max_step))
