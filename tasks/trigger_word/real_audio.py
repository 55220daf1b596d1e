"""Real recordings in collect: human speech as negative words and babble, music as backgrounds.

Sources are folders of installed recordings (Debian packages set up by ``scripts/setup.sh``),
each with a ``source`` and ``licence`` that go into every manifest row made from it. Speech
recordings become negative words (``source: real-speech``), one speaker group per *file* so
the split stage spreads them over train, dev and test by file; a share of them (drawn by
hash, never also a negative) is mixed into the generated babble backgrounds instead. A
recording whose name or transcript holds an excluded term (the trigger word's stem, in the
languages at hand) is left out: a real-speech negative must never say the trigger word.
Background folders become background rows (one WAV each), split by recording as today.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tasks.audio.checks import dbfs, problem_in_length, problem_in_raw, rms, trim_silence
from tasks.audio.io import AudioReadError, read_audio, resample, to_mono, write_wav
from tasks.audio.shards import ShardSet, shard_name
from tasks.io import sha256_file, stable_unit
from tasks.trigger_word.real_audio_config import RealAudioParams, RealFolder

log = logging.getLogger(__name__)
FOLDER = "real_speech"
# Longest speech recording read, in seconds (prompts and dialogue lines are sentences).
SPEECH_READ_S = 600.0


_DIALOG_ID = re.compile(r'dialogId\(\s*"([^"]+)"')


def excluded_ids(text_files: Sequence[Path], terms: Sequence[str]) -> set[str]:
    """Dialogue ids (fillets-ng's ``dialogId("ID", ...)`` then ``dialogStr(...)``) whose text in
    any language holds one of ``terms`` (case-insensitive)."""
    out: set[str] = set()
    terms = [t.lower() for t in terms]
    for path in text_files:
        current = None
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _DIALOG_ID.search(line)
            if m:
                current = m.group(1)
            if current and any(t in line.lower() for t in terms):
                out.add(current)
    return out


def folder_files(folder: RealFolder, terms: Sequence[str]) -> tuple[list[Path], list[dict]]:
    """The folder's files (sorted) and quarantine rows of those left out for an excluded term."""
    root = Path(folder.dir)
    if not root.is_dir():
        log.warning("real audio: folder %s not found (%s; see scripts/setup.sh); skipped", root, folder.source)
        return [], []
    files = sorted(p for p in root.glob(folder.pattern) if p.is_file())
    texts = sorted(root.glob(folder.texts)) if folder.texts else []
    if folder.texts and not texts:  # without its transcripts a line saying the word could slip in
        log.warning("real audio: no transcripts %s under %s (%s); folder skipped", folder.texts, root, folder.source)
        return [], []
    banned = excluded_ids(texts, terms) if texts else set()
    kept, bad = [], []
    for p in files:
        term = next((t for t in terms if t.lower() in p.stem.lower()), None)
        if term is not None or p.stem in banned:
            why = f"its name holds {term!r}" if term else "its transcript holds an excluded term"
            bad.append({"file": str(p), "kind": "negative", "reason": f"real speech left out: {why}"})
        else:
            kept.append(p)
    return kept, bad


def speech_plan(params: RealAudioParams, seed: int) -> tuple[list[tuple[Path, RealFolder]],
                                                             list[tuple[Path, RealFolder]], list[dict]]:
    """(negative files, babble files, quarantine rows): ``speech_files_per_dir`` drawn by seed from
    each folder (0 = all), then ``babble_share`` of them by hash set aside for babble."""
    negatives, babble, bad = [], [], []
    for folder in params.speech if params.enabled else ():
        files, left_out = folder_files(folder, params.exclude)
        bad += left_out
        files.sort(key=lambda p: stable_unit("real-speech-train", seed, p.as_posix()))
        if params.speech_files_per_dir:
            files = files[:params.speech_files_per_dir]
        for p in sorted(files):
            to_babble = stable_unit("real-speech-babble", seed, p.as_posix()) < params.babble_share
            (babble if to_babble else negatives).append((p, folder))
    return negatives, babble, bad


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def speech_segment(data: np.ndarray, sr: int, sample_rate: int, max_s: float, trim_db: float) -> np.ndarray:
    """A decoded recording ``(n, channels)`` as one mono segment at ``sample_rate``: trimmed of
    silence, at most ``max_s`` (a longer one keeps its start, faded out over 10 ms)."""
    y = trim_silence(resample(to_mono(data), sr, sample_rate), sample_rate, threshold_db=trim_db)
    if len(y) > max_s * sample_rate:
        y = y[:int(max_s * sample_rate)].copy()
        fade = int(0.01 * sample_rate)
        y[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return y


def ingest_speech(items: Sequence[tuple[Path, RealFolder]], out: Path, sample_rate: int, checks: object,
                  max_s: float) -> tuple[list[dict], list[dict]]:
    """Real speech recordings as negative words in a shard in ``out/real_speech/``; (rows, quarantine)."""
    from tasks.trigger_word.collect import _word_row, word_limits

    limits = word_limits(checks.model_copy(update={"word_max_s": 3600.0}))
    rows, bad = [], []
    keys = [f"{f.source}/{p.parent.name}/{p.name}" for p, f in items]
    with ShardSet(out, shard_name("speech", keys), sample_rate) as shards:
        for path, folder in items:
            try:
                data, sr = read_audio(path, max_seconds=SPEECH_READ_S)
                reason = problem_in_raw(data, limits)
                y = None if reason else speech_segment(data, sr, sample_rate, max_s, checks.trim_db)
            except AudioReadError as exc:
                reason = str(exc)
            if reason is None:
                reason = problem_in_length(len(y), sample_rate, limits)
            if reason is not None:
                bad.append({"file": str(path), "kind": "negative", "reason": reason})
                continue
            rel = path.relative_to(folder.dir).as_posix()
            wid = f"speech-{_slug(folder.source)}-{_slug(rel)}"
            rows.append(_word_row("negative", wid, shards.add(FOLDER, y), y, sample_rate, text=None,
                                  group=f"speech:{folder.source}:{rel}", source="real-speech",
                                  origin=str(path), licence=folder.licence, package=folder.source))
    return rows, bad


def babble_speech(items: Sequence[tuple[Path, RealFolder]], sample_rate: int, max_s: float, trim_db: float,
                  level_db: float) -> list[np.ndarray]:
    """Segments of real speech for the babble texture, each at ``level_db`` RMS (unreadable ones skipped)."""
    out = []
    for path, _ in items:
        try:
            y = speech_segment(*read_audio(path, max_seconds=SPEECH_READ_S), sample_rate, max_s, trim_db)
        except AudioReadError as exc:
            log.warning("babble: %s skipped (%s)", path, exc)
            continue
        if len(y) and rms(y) > 0:
            out.append((y * np.float32(10 ** ((level_db - dbfs(rms(y))) / 20))).astype(np.float32))
    return out


def babble_material(sample_rate: int, seed: int, words: Sequence[str], speech: Sequence[tuple[Path, RealFolder]],
                    max_s: float, trim_db: float) -> list[np.ndarray]:
    """The babble texture's material: TTS everyday words plus real speech at their median level."""
    from tasks.trigger_word.collect import babble_material as tts_babble

    material = tts_babble(sample_rate, seed, words)
    if not speech:
        return material
    level = float(np.median([dbfs(rms(w)) for w in material if len(w)]))
    return material + babble_speech(speech, sample_rate, max_s, trim_db, level)


def background_files(params: RealAudioParams) -> list[tuple[Path, RealFolder]]:
    """Every file of the background folders (missing folders are skipped with a warning)."""
    out = []
    for folder in params.backgrounds if params.enabled else ():
        files, _ = folder_files(folder, ())
        out += [(p, folder) for p in files]
    return out


def ingest_backgrounds(items: Sequence[tuple[Path, RealFolder]], out: Path, sample_rate: int,
                       checks: object) -> tuple[list[dict], list[dict]]:
    """Real recordings as backgrounds (``out/backgrounds/<id>.wav``, one each); (rows, quarantine)."""
    from tasks.trigger_word.collect import _background_row, background_limits

    limits = background_limits(checks)
    rows, bad = [], []
    for path, folder in items:
        try:
            data, sr = read_audio(path, max_seconds=limits.max_seconds)
        except AudioReadError as exc:
            bad.append({"file": str(path), "kind": "background", "reason": str(exc)})
            continue
        reason = problem_in_raw(data, limits)
        x = None
        if reason is None:
            x = resample(to_mono(data), sr, sample_rate)
            reason = problem_in_length(len(x), sample_rate, limits)
        if reason is not None:
            bad.append({"file": str(path), "kind": "background", "reason": reason})
            continue
        rel = path.relative_to(folder.dir).as_posix()
        bid = f"rec-{_slug(folder.source)}-{_slug(rel)}"
        write_wav(out / "backgrounds" / f"{bid}.wav", x, sample_rate)
        rows.append(_background_row(bid, x, sample_rate, group=f"rec:{folder.source}:{rel}", source="recording",
                                    origin=str(path), texture="recording", content_sha256=sha256_file(path),
                                    licence=folder.licence, package=folder.source))
    return rows, bad
