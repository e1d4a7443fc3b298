"""Atomic files of a run: a crash (kill -9) leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm


def _tmp_beside(path: Path, suffix: str = ".tmp") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically."""
    path = Path(path)
    tmp = _tmp_beside(path)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_json(path: str | Path) -> Any:
    """Read JSON with an error that names the file when it is corrupt."""
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise RuntimeError(f"{str(path)!r} is corrupt ({e}); restore or delete it") from None


def save_model(model: BaseAlgorithm, path: str | Path) -> None:
    """``model.save`` to a temp zip, then ``os.replace`` onto ``path``."""
    path = Path(path)
    tmp = _tmp_beside(path, ".zip")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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
    if not p.exists():
        return
    rows = [r for r in read_jsonl(p) if r.get("step", 0) <= max_step]
    tmp = _tmp_beside(p)
    try:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
