"""The embedding database: a Parquet table of enrolled face embeddings plus cached crops.

A database is a folder::

    embeddings.parquet   person, photo_id, sha256, embedding fixed_size_list<float32>[D],
                         encoder (kind:hash), detector, alignment, time; the calibration
                         (threshold, target FAR, k, encoder, detector, alignment) rides in
                         the file's schema metadata
    crops/<key>/         the face crop of every enrolled photo (PNG), for review; ``key`` is
                         :func:`person_key` of the name (names are data, never paths)

Every vector in one database comes from one encoder, detector and alignment;
:meth:`FaceDB.check_encoder` refuses a query or enrolment made otherwise, naming what
differs (vectors of two models, or of faces found or aligned differently, are not comparable). Search is exact:
:func:`nearest` returns the same neighbours, in the same order, as a brute-force scan.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from tasks.errors import DataError
from tasks.io import atomic_file

TABLE = "embeddings.parquet"
CROPS = "crops"
META_KEY = b"faces"
MAX_NAME = 200  # characters in a person's name
IDENTITY = ("encoder", "detector", "alignment")


class EncoderMismatch(DataError):
    """A query or enrolment with an encoder, detector or alignment other than the database's."""


def check_name(person: object, where: str = "person") -> str:
    """``person`` if it is a usable name (data, never a path), else a DataError saying why.

    Refused: empty, longer than MAX_NAME, NUL or other control characters, leading or trailing
    spaces, and ``.`` / ``..``; ``/`` and ``\\`` are allowed in names (crops live under
    :func:`person_key`, never under the name itself)."""
    if not isinstance(person, str) or not person:
        raise DataError(f"{where}: an empty person name")
    if len(person) > MAX_NAME:
        raise DataError(f"{where}: person name of {len(person)} characters (at most {MAX_NAME})")
    if re.search(r"[\x00-\x1f\x7f]", person):
        raise DataError(f"{where}: person name {person!r} holds a control character (NUL, newline, ...)")
    if person != person.strip() or person in (".", ".."):
        raise DataError(f"{where}: person name {person!r} is not usable (surrounding spaces, '.' or '..')")
    return person


def person_key(person: str) -> str:
    """A safe folder name for ``person``: its letters, digits, ``-`` and ``_`` (at most 40), then a
    hash of the whole name (so two names never share a folder and nothing can climb out)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", person)[:40].strip("_") or "person"
    return f"{stem}-{hashlib.sha256(person.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def schema(dim: int) -> pa.Schema:
    return pa.schema([("person", pa.string()), ("photo_id", pa.string()), ("sha256", pa.string()),
                      ("embedding", pa.list_(pa.float32(), dim)), ("encoder", pa.string()),
                      ("detector", pa.string()), ("alignment", pa.string()),
                      ("time", pa.timestamp("s", tz="UTC"))])


@dataclass(frozen=True)
class Calibration:
    """What the database was built with and the threshold calibrated for it."""

    encoder: str  # kind:hash of the encoder (tasks.faces.encoder.Encoder.name)
    dim: int
    detector: str = ""  # tasks.faces.encoder.detector_id
    alignment: str = ""  # tasks.faces.encoder.alignment_id
    threshold: float | None = None  # verification / "unknown" distance threshold
    target_far: float | None = None  # the false-accept rate the threshold was set for
    k: int = 2  # neighbours that vote in identification
    calibrated_on: str = ""  # what the threshold was calibrated on (people, pairs)


@dataclass
class FaceDB:
    """Rows (person, photo_id, sha256, encoder, time) and their ``(N, D)`` float32 embeddings."""

    calibration: Calibration
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["person", "photo_id", "sha256", "encoder", "detector", "alignment", "time"]))
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.embeddings is None:
            self.embeddings = np.zeros((0, self.calibration.dim), np.float32)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def persons(self) -> list[str]:
        return sorted(set(self.rows["person"]))

    @property
    def identity(self) -> dict[str, str]:
        return {k: getattr(self.calibration, k) for k in IDENTITY}

    def check_encoder(self, identity: dict[str, str], where: str = "the database") -> None:
        """Fail clearly unless ``identity`` (encoder, detector, alignment) is what every row was made with."""
        diff = [f"{k} {self.identity[k]!r} (the encoder loaded uses {identity.get(k)!r})"
                for k in IDENTITY if identity.get(k) != self.identity[k]]
        if diff:
            raise EncoderMismatch(
                f"{where} was built with " + "; ".join(diff) + ": embeddings made differently are not "
                "comparable. Use the encoder that built it (--encoder), or build a new database (--db) with this one.")

    def add(self, persons: list[str], photo_ids: list[str], hashes: list[str], emb: np.ndarray,
            identity: dict[str, str], time: pd.Timestamp) -> int:
        """Enrol photos (a photo id already present is replaced); returns rows added or replaced."""
        self.check_encoder(identity)
        for p in set(persons):
            check_name(p)
        if emb.shape != (len(photo_ids), self.calibration.dim):
            raise ValueError(f"embeddings {emb.shape} do not match {len(photo_ids)} photos x {self.calibration.dim}")
        keep = ~self.rows["photo_id"].isin(set(photo_ids)).to_numpy()
        new = pd.DataFrame({"person": persons, "photo_id": photo_ids, "sha256": hashes,
                            **{k: identity[k] for k in IDENTITY}, "time": time})
        rows = pd.concat([self.rows[keep], new], ignore_index=True) if keep.any() else new
        embs = np.concatenate([self.embeddings[keep], emb.astype(np.float32)])
        order = np.lexsort((rows["photo_id"].to_numpy(), rows["person"].to_numpy()))
        self.rows, self.embeddings = rows.iloc[order].reset_index(drop=True), np.ascontiguousarray(embs[order])
        return len(photo_ids)

    def delete(self, person: str) -> int:
        """Remove every row of ``person``; returns how many."""
        hit = (self.rows["person"] == person).to_numpy()
        self.rows, self.embeddings = self.rows[~hit].reset_index(drop=True), self.embeddings[~hit]
        return int(hit.sum())

    def of(self, person: str) -> np.ndarray:
        return self.embeddings[(self.rows["person"] == person).to_numpy()]


def save(db: FaceDB, folder: Path | str) -> Path:
    """Write the table atomically (deterministic bytes for equal content)."""
    folder = Path(folder)
    dim = db.calibration.dim
    flat = pa.array(db.embeddings.astype(np.float32).ravel(), pa.float32())
    ts = pa.timestamp("s", tz="UTC")
    times = pa.array(pd.to_datetime(db.rows["time"], utc=True).dt.as_unit("s"), ts) if len(db) else pa.array([], ts)
    table = pa.Table.from_arrays(
        [pa.array(db.rows["person"].tolist(), pa.string()), pa.array(db.rows["photo_id"].tolist(), pa.string()),
         pa.array(db.rows["sha256"].tolist(), pa.string()), pa.FixedSizeListArray.from_arrays(flat, dim),
         *[pa.array(db.rows[k].tolist(), pa.string()) for k in IDENTITY], times],
        schema=schema(dim))
    meta = json.dumps(db.calibration.__dict__, sort_keys=True).encode()
    table = table.replace_schema_metadata({META_KEY: meta})
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_file(folder / TABLE) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return folder / TABLE


def load(folder: Path | str) -> FaceDB:
    """Read a database folder; a clear error when it is not one."""
    path = Path(folder) / TABLE
    if not path.is_file():
        raise DataError(f"{path}: no face database here; build one with `python -m flows.faces enrol DIR "
                        f"--db {folder}` (or run the pipeline's database stage)")
    try:
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(META_KEY)
        if raw is None:
            raise DataError(f"{path}: not a face database (no calibration metadata)")
        cal = Calibration(**json.loads(raw))
        if table.schema.names != schema(cal.dim).names:
            raise DataError(f"{path}: columns {table.schema.names} are not a face database's "
                            f"{schema(cal.dim).names} (made by an older version?); rebuild it")
        emb = table.column("embedding").combine_chunks()
        values = emb.values.to_numpy(zero_copy_only=False) if len(emb) else np.zeros(0, np.float32)
        embeddings = values.astype(np.float32).reshape(len(table), cal.dim)
        rows = table.drop(["embedding"]).to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: unreadable face database ({type(exc).__name__}: {exc}); restore it from a "
                        "copy, or delete it and enrol again") from None
    for k in IDENTITY:
        stale = sorted(set(rows[k]) - {getattr(cal, k)})
        if stale:
            raise EncoderMismatch(f"{path}: rows made with {k} {stale} beside {getattr(cal, k)!r}; rebuild the database")
    return FaceDB(cal, rows, np.ascontiguousarray(embeddings))


def open_or_create(folder: Path | str, identity: dict[str, str], dim: int, k: int) -> FaceDB:
    """The database in ``folder``, or a new empty one for this encoder (no threshold yet)."""
    if (Path(folder) / TABLE).is_file():
        return load(folder)
    return FaceDB(Calibration(dim=dim, k=k, **identity))


def with_threshold(db: FaceDB, threshold: float, target_far: float, calibrated_on: str) -> FaceDB:
    return replace(db, calibration=replace(db.calibration, threshold=threshold, target_far=target_far,
                                           calibrated_on=calibrated_on))


def crop_path(folder: Path | str, person: str, photo_id: str) -> Path:
    """Where a crop lives: always inside ``folder/crops/<person_key>/``, whatever the names."""
    safe = person_key(photo_id)
    return Path(folder) / CROPS / person_key(check_name(person)) / f"{safe}.png"


def save_crops(folder: Path | str, persons: list[str], photo_ids: list[str], crops: list[np.ndarray]) -> None:
    for person, pid, crop in zip(persons, photo_ids, crops, strict=True):
        path = crop_path(folder, person, pid)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as tmp:
            Image.fromarray(crop).save(tmp, format="PNG")


def delete_person(folder: Path | str, person: str) -> int:
    """Remove every row and cached file of ``person`` from the database in ``folder``."""
    check_name(person, "--person")
    db = load(folder)
    removed = db.delete(person)
    if removed == 0:
        raise DataError(f"{Path(folder) / TABLE}: no person {person!r} enrolled")
    save(db, folder)
    shutil.rmtree(Path(folder) / CROPS / person_key(person), ignore_errors=True)
    return removed


class ExactIndex:
    """Exact k-nearest-neighbour search over fixed rows (row norms computed once).

    One matrix product ranks every row for a block of queries (``|e - q|^2 = |e|^2 - 2 e.q +
    |q|^2``, so the rows are read once per block, not once per query); rows whose approximate
    distance lies within a rounding bound of the k-th are re-scored exactly as a brute-force
    scan scores them, ties going to the lower row, so the answer is the scan's.
    """

    BLOCK = 64  # most queries ranked by one matrix product
    BUFFER_FLOATS = 8 << 20  # and at most this many scores at once (32 MB)

    def __init__(self, embeddings: np.ndarray):
        self.embeddings = np.ascontiguousarray(embeddings, np.float32)  # (N, D)
        self.norms = np.einsum("ij,ij->i", self.embeddings, self.embeddings)  # (N,)
        self.slack = 1e-4 * (1.0 + float(self.norms.max(initial=0.0)))
        self._buf = np.empty((0, len(self.embeddings)), np.float32)  # reused between calls
        self._lock = threading.Lock()  # (the buffer is one per index)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(M, k)`` distances (ascending) and row indices of the ``k`` nearest rows of each query."""
        e = self.embeddings
        k = min(k, len(e))
        queries = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        dists = np.empty((len(queries), k), np.float32)
        index = np.empty((len(queries), k), np.int64)
        if k == 0:
            return dists, index
        with self._lock:
            self._rank(queries, k, dists, index)
        return dists, index

    def _rank(self, queries: np.ndarray, k: int, dists: np.ndarray, index: np.ndarray) -> None:
        e = self.embeddings
        step = max(1, min(self.BLOCK, self.BUFFER_FLOATS // max(1, len(e))))
        for start in range(0, len(queries), step):
            block = queries[start:start + step]  # (B, D)
            if self._buf.shape[0] < len(block):
                self._buf = np.empty((len(block), len(e)), np.float32)
            approx = self._buf[:len(block)]  # (B, N)
            if len(block) == 1:  # a matrix-vector product
                np.matmul(e, block[0], out=approx[0])
            else:
                np.matmul(block, e.T, out=approx)
            approx *= -2.0
            approx += self.norms  # |e|^2 - 2 e.q; |q|^2 left out: the same for every row
            kth = np.partition(approx, k - 1, axis=1)[:, k - 1]  # (B,)
            for j, q in enumerate(block):
                cand = np.flatnonzero(approx[j] <= kth[j] + self.slack + 1e-4 * float(q @ q))
                exact = ((e[cand] - q) ** 2).sum(axis=1)
                order = np.lexsort((cand, exact))[:k]
                index[start + j], dists[start + j] = cand[order], np.sqrt(exact[order])


def nearest(embeddings: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of ``embeddings`` for each query (see :class:`ExactIndex`)."""
    return ExactIndex(embeddings).search(queries, k)


def brute_force(embeddings: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference: every row's distance, sorted (ties to the lower row)."""
    exact = ((embeddings - query.astype(np.float32)) ** 2).sum(axis=1)
    order = np.lexsort((np.arange(len(exact)), exact))[:k]
    return np.sqrt(exact[order]), order
