"""File helpers every stage uses: atomic outputs, deterministic Parquet, content hashes.

Temporary siblings are named ``.NAME.tmp-PID-XXXX`` (and ``.NAME.old-PID-XXXX`` while a
folder is swapped); those of a process that no longer runs are removed (or, for an ``old``
folder whose replacement never arrived, put back) the next time ``NAME`` is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.errors import DataError

log = logging.getLogger(__name__)

_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}$")


def _temp_sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(path: Path | str) -> list[Path]:
    """Remove the temporary siblings of ``path`` left by processes that were killed.

    An ``old`` folder whose replacement never arrived (the process died between the two
    renames) is the previous complete output: it is put back instead. Returns what was removed.
    """
    path = Path(path)
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for entry in sorted(path.parent.iterdir()):
        m = _TEMP_NAME.match(entry.name)
        if not m or m["name"] != path.name or _pid_alive(int(m["pid"])):
            continue
        if m["kind"] == "old" and not path.exists():
            entry.rename(path)
            log.warning("%s: restored the previous output from %s (its writer was killed)", path, entry.name)
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        log.info("%s: removed %s, left by a killed run", path.parent, entry.name)
        removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``path`` only if the block succeeds.

    Readers see either the previous folder or the complete new one, never a partial one;
    on failure the previous folder is left exactly as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    tmp = _temp_sibling(path, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            old = _temp_sibling(path, "old")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            tmp.rename(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# Written into every folder a command creates for the user (``--out``, ``--chime-dir``): a
# folder holding it is one of ours, and may be replaced by the next run without --force.
OUTPUT_MARKER = ".dlpipes-output"


class OutputRefused(DataError):
    """An output folder that would destroy or mix with files that are not ours."""


def refuse_overlap(out: Path | str, inputs: Iterable[tuple[str, Path | str | None]], flag: str) -> None:
    """Refuse an output folder that is, contains or lies inside one of ``inputs``."""
    out = Path(out)
    target = out.resolve()
    for name, given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if target == source or source.is_relative_to(target):
            raise OutputRefused(f"{flag} {out} contains the input {name} {given}: writing there would "
                                "replace it; choose an output folder outside your inputs")
        if target.is_relative_to(source):
            raise OutputRefused(f"{flag} {out} lies inside the input {name} {given}; choose an output "
                                "folder outside your inputs")


def check_output_dir(out: Path | str, inputs: Iterable[tuple[str, Path | str | None]], *,
                     force: bool = False, flag: str = "--out") -> Path:
    """Refuse an output folder that would lose a user's files; returns ``out``.

    ``inputs`` are ``(name, path)`` pairs (e.g. ``("--positives", "recs/activate")``). The
    folder must not be, contain or lie inside any input (never, even with ``force``); if it
    exists it must be empty, or hold :data:`OUTPUT_MARKER` (written with our outputs), or
    ``force`` must be set.
    """
    out = Path(out)
    refuse_overlap(out, inputs, flag)
    if not out.exists() and not out.is_symlink():
        return out
    if not out.is_dir():
        raise OutputRefused(f"{flag} {out} exists and is not a folder; choose a new folder name")
    if (out / OUTPUT_MARKER).is_file() or not any(out.iterdir()):
        return out
    if force:
        log.warning("%s %s: not written by dlpipes; replacing it because of --force", flag, out)
        return out
    raise OutputRefused(f"{flag} {out} already exists and was not written by dlpipes (no {OUTPUT_MARKER} "
                        "file in it); choose a new folder, or pass --force to replace it and everything in it")


def check_output_files(outs: Iterable[Path | str], inputs: Iterable[tuple[str, Path | str | None]],
                       flag: str = "--out") -> None:
    """Refuse output files that are one of the inputs (writing them would replace the input)."""
    given = [(name, Path(p)) for name, p in inputs if p is not None]
    for out in map(Path, outs):
        for name, source in given:
            if source.exists() and out.resolve() == source.resolve():
                raise OutputRefused(f"{flag} would write {out}, which is the input {name} {source}; "
                                    "choose another output name")


def write_marker(folder: Path | str, command: str) -> None:
    """Mark ``folder`` as written by ``command`` (so a later run may replace it)."""
    write_text(Path(folder) / OUTPUT_MARKER, f"written by: python -m {command}\n"
               "This folder is replaced whole by the next run of that command; keep your own files elsewhere.\n")


@contextlib.contextmanager
def atomic_output_dir(out: Path | str, inputs: Iterable[tuple[str, Path | str | None]], command: str, *,
                      force: bool = False, flag: str = "--out") -> Iterator[Path]:
    """:func:`atomic_dir` for a folder a user named: checked first, marked as ours when written."""
    check_output_dir(out, list(inputs), force=force, flag=flag)
    with atomic_dir(out) as tmp:
        yield tmp
        write_marker(tmp, command)


@contextlib.contextmanager
def atomic_file(path: Path | str) -> Iterator[Path]:
    """Yield a temporary file path that is renamed onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(path, "tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: Path | str, text: str) -> None:
    """Write a text file atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path | str, obj: Any) -> None:
    """Write JSON atomically, keys sorted so equal objects give equal bytes."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet(
    path: Path | str, frame: pd.DataFrame | pa.Table, schema: pa.Schema | None = None
) -> None:
    """Write a table atomically; deterministic bytes for equal content."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(
        frame, schema=schema, preserve_index=False
    )
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_parquet(path: Path | str, what: str = "table") -> pd.DataFrame:
    """Read a Parquet table, with an error that says which stage's output is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found; run the stage that writes it first")
    return pd.read_parquet(path)


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_tree(root: Path | str, pattern: str = "**/*") -> str:
    """One SHA-256 over every file's relative path and content under ``root``."""
    root = Path(root)
    h = hashlib.sha256()
    for p in sorted(q for q in root.glob(pattern) if q.is_file()):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def stable_unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) derived from ``parts`` (SHA-256 based)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
