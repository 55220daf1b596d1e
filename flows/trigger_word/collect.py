"""Stage `collect`: words (text to speech and users' recordings) and backgrounds into manifests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, logger, publish_markdown, publish_table, stage_main, with_runner
from tasks.audio.intelligibility import check_takes
from tasks.audio.io import list_audio
from tasks.config import BaseParams
from tasks.errors import DataError
from tasks.io import atomic_dir, refuse_overlap, write_json, write_parquet
from tasks.trigger_word import collect as C
from tasks.trigger_word import cross_engine as X
from tasks.trigger_word import engines as E
from tasks.trigger_word import pico_engine as P
from tasks.trigger_word import real_audio as R
from tasks.trigger_word.config import CollectParams, Layout, TriggerWordParams

tts_shard = task(C.render_tts_shard, name="tts-shard", cache_policy=NO_CACHE)
user_shard = task(C.ingest_user_files, name="user-files-shard", cache_policy=NO_CACHE)
backgrounds_shard = task(C.render_generated_backgrounds, name="generated-backgrounds", cache_policy=NO_CACHE)
babble_words = task(R.babble_material, name="babble-material", cache_policy=NO_CACHE)
real_speech_shard = task(R.ingest_speech, name="real-speech-negatives", cache_policy=NO_CACHE)
check_task = task(check_takes, name="intelligibility-check", cache_policy=NO_CACHE)
recordings_shard = task(R.ingest_backgrounds, name="recorded-backgrounds", cache_policy=NO_CACHE)
kokoro_shard = task(X.render_kokoro, name="kokoro-shard", cache_policy=NO_CACHE)
speech_task = task(X.ingest_real_speech, name="real-speech", cache_policy=NO_CACHE)
kokoro_train_shard = task(E.render_kokoro_train, name="kokoro-train-shard", cache_policy=NO_CACHE)
espeak_check_shard = task(E.render_espeak_check, name="espeak-check-shard", cache_policy=NO_CACHE)
pico_train_shard = task(P.render_pico_train, name="pico-train-shard", cache_policy=NO_CACHE)
pico_check_shard = task(P.render_pico_check, name="pico-check-shard", cache_policy=NO_CACHE)

USER_SHARD = 32  # files per user-folder task


def _user_files(params: CollectParams) -> dict[str, tuple[Path, list[Path]]]:
    folders = {"positive": params.user.positives_dir, "negative": params.user.negatives_dir,
               "background": params.user.backgrounds_dir}
    out = {}
    for kind, folder in folders.items():
        if folder is None:
            continue
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise DataError(f"trigger_word.collect.user.{kind}s_dir: {root} is not a folder")
        out[kind] = (root, list_audio(root))
    return out


def collect_into(out: Path, base: BaseParams, params: CollectParams) -> dict:
    """Run collection into the (empty) folder ``out``; returns a summary of what was kept."""
    log = logger()
    retries = {"retries": base.retries, "retry_delay_seconds": 1}
    sr = params.sample_rate
    engines = params.tts.engines if params.tts.enabled else ()
    tts_plan = C.tts_plan(params, base.seed) if "espeak" in engines else []
    user = _user_files(params)
    quarantine: list[dict] = []
    user_jobs = []
    for kind, (root, files) in user.items():
        files, dupes = C.drop_duplicate_files(kind, files)
        quarantine += dupes
        user_jobs += [(kind, root, files[i:i + USER_SHARD]) for i in range(0, len(files), USER_SHARD)]
    bg = params.generated_backgrounds
    bg_plan = C.generated_background_plan(bg.count, bg.kinds)
    bg_shards = [bg_plan[i:i + 4] for i in range(0, len(bg_plan), 4)]
    log.info("collect: %d TTS shards (%d words), %d user-file shards, %d generated backgrounds",
             len(tts_plan), sum(map(len, tts_plan)), len(user_jobs), len(bg_plan))

    ra = params.real_audio
    speech, babble_speech, left_out = R.speech_plan(ra, base.seed)
    recordings = R.background_files(ra)
    quarantine += left_out
    log.info("collect: %d real-speech negatives, %d for babble, %d recorded backgrounds", len(speech),
             len(babble_speech), len(recordings))
    babble = None
    if any(k == "babble" for _, k in bg_plan):
        babble = babble_words.with_options(**retries).submit(sr, base.seed, bg.babble_words, babble_speech,
                                                             ra.speech_max_s, params.checks.trim_db)
    futures = [tts_shard.with_options(**retries).submit(items, out, sr, params.checks) for items in tts_plan]
    futures += [kokoro_train_shard.with_options(**retries).submit(items, out, sr, params.checks)
                for items in (E.kokoro_train_plan(params, base.seed) if "kokoro" in engines else [])]
    futures += [pico_train_shard.with_options(**retries).submit(items, out, sr, params.checks)
                for items in (P.pico_train_plan(params, base.seed) if "pico" in engines else [])]
    futures += [real_speech_shard.with_options(**retries).submit(speech[i:i + USER_SHARD * 2], out, sr,
                                                                 params.checks, ra.speech_max_s)
                for i in range(0, len(speech), USER_SHARD * 2)]
    futures += [recordings_shard.with_options(**retries).submit(recordings[i:i + 4], out, sr, params.checks)
                for i in range(0, len(recordings), 4)]
    futures += [user_shard.with_options(**retries).submit(kind, root, files, out, sr, params.checks)
                for kind, root, files in user_jobs]
    bg_futures = [backgrounds_shard.with_options(**retries).submit(
        shard, bg.seconds, sr, base.seed, out, babble) for shard in bg_shards]

    cross = params.cross_engine
    cross_futures = []
    if cross.enabled and cross.engine == "espeak":  # the reverse check: espeak-ng voices never in training
        cross_futures += [espeak_check_shard.with_options(**retries).submit(items, out, sr, params.checks)
                          for items in E.espeak_check_plan(params, base.seed)]
    elif cross.enabled and cross.engine == "pico":  # SVOX Pico held out: its two voices, never in training
        cross_futures += [pico_check_shard.with_options(**retries).submit(items, out, sr, params.checks)
                          for items in P.pico_check_plan(params)]
    elif cross.enabled:
        plan = X.kokoro_plan(cross, params.positive_word, params.negative_words)
        cross_futures += [kokoro_shard.with_options(**retries).submit(plan[i:i + cross.shard_size], out, sr,
                                                                      params.checks)
                          for i in range(0, len(plan), cross.shard_size)]
    if cross.enabled:
        for split, folders in (("dev", cross.real_speech_dev), ("test", cross.real_speech_test)):
            files = X.real_speech_files(folders, cross.real_speech_files, base.seed, split)
            cross_futures += [speech_task.with_options(**retries).submit(
                files[i:i + USER_SHARD * 2], split, out, sr, params.checks, cross.real_speech_max_s)
                for i in range(0, len(files), USER_SHARD * 2)]
        log.info("collect: cross-engine check material (%s voices, real speech): %d tasks", cross.engine,
                 len(cross_futures))

    words, backgrounds = [], []
    with Progress(len(futures) + len(bg_futures), "collect", unit="shard") as bar:
        for f in futures:
            rows, bad = f.result()
            for row in rows:
                (backgrounds if "background_id" in row else words).append(row)
            quarantine += bad
            bar.update()
        for f in bg_futures:
            backgrounds += f.result()
            bar.update()

    if params.intelligibility.enabled:
        words, unheard = check_task.with_options(**retries).submit(
            out, words, (params.positive_word, *params.negative_words), params.intelligibility.sources).result()
        log.info("collect: %d positive takes failed the intelligibility check", len(unheard))
        quarantine += unheard
    frames = {
        "positives": pd.DataFrame([w for w in words if w["kind"] == "positive"]),
        "negatives": pd.DataFrame([w for w in words if w["kind"] == "negative"]),
        "backgrounds": pd.DataFrame(backgrounds),
    }
    for name, key in (("positives", "word_id"), ("negatives", "word_id"), ("backgrounds", "background_id")):
        if not frames[name].empty:
            frames[name] = frames[name].sort_values(key, kind="stable").reset_index(drop=True)
    q = pd.DataFrame(quarantine, columns=["file", "kind", "reason"]).sort_values(["kind", "file"], kind="stable")
    minimum = {"positives": params.min_positives, "negatives": params.min_negatives,
               "backgrounds": params.min_backgrounds}
    for name, frame in frames.items():
        if len(frame) < minimum[name]:
            raise DataError(
                f"collect: only {len(frame)} usable {name} (need at least {minimum[name]}, "
                f"trigger_word.collect.min_{name}); {int((q.kind == name[:-1]).sum())} were quarantined")
        write_parquet(out / f"{name}.parquet", frame)
    cross_rows = []
    for f in cross_futures:
        rows, bad = f.result()
        cross_rows += rows
        quarantine += bad
    if cross.enabled:
        q = pd.DataFrame(quarantine, columns=["file", "kind", "reason"]).sort_values(["kind", "file"], kind="stable")
        cross_frame = pd.DataFrame(cross_rows)
        if not cross_frame.empty:
            cross_frame = cross_frame.sort_values("word_id", kind="stable").reset_index(drop=True)
        write_parquet(out / X.FOLDER / X.MANIFEST, cross_frame)
        frames["cross_engine"] = cross_frame
    write_parquet(out / "quarantine.parquet", q)
    summary = {name: len(frame) for name, frame in frames.items()} | {"quarantined": len(q), "sample_rate": sr}
    write_json(out / "summary.json", summary)
    return {"summary": summary, "frames": frames, "quarantine": q}


def publish_collect(result: dict, prefix: str = "trigger-word-collect") -> None:
    frames, q = result["frames"], result["quarantine"]
    rows = []
    for name, frame in frames.items():
        if frame.empty:
            continue
        for source, part in frame.groupby("source"):
            rows.append({"kind": name, "source": source, "files": len(part), "groups": part.group.nunique(),
                         "seconds": round(float(part.duration_s.sum()), 1)})
    publish_table(prefix, rows, "Words and backgrounds collected, by kind and source")
    publish_table(f"{prefix}-quarantine", q.head(500).to_dict("records"),
                  f"Quarantined inputs ({len(q)} in all; first 500 shown)")
    publish_markdown(f"{prefix}-summary", "### collect\n\n" + "\n".join(
        f"- **{k}**: {v}" for k, v in result["summary"].items()), "Collect summary")


@flow(name="trigger-word-collect")
def collect(base: BaseParams, params: CollectParams, out_dir: str) -> dict:
    """Collect and check every word and background into ``out_dir`` (replaced atomically)."""
    with atomic_dir(out_dir) as tmp:
        result = collect_into(Path(tmp), base, params)
    publish_collect(result)
    logger().info("collect: %s", result["summary"])
    return result["summary"]


def run(base: BaseParams, params: TriggerWordParams, layout: Layout, runner: str | None = None) -> None:
    """Stage tw_collect: words and backgrounds into checked manifests."""
    u = params.collect.user  # a stage's output folder is replaced whole: never around a user's folder
    refuse_overlap(layout.collect, [("trigger_word.collect.user.positives_dir", u.positives_dir),
                                    ("trigger_word.collect.user.negatives_dir", u.negatives_dir),
                                    ("trigger_word.collect.user.backgrounds_dir", u.backgrounds_dir)],
                   "the collect stage's output")
    with_runner(collect, base, runner)(base, params.collect, str(layout.collect))


if __name__ == "__main__":
    stage_main(run, "trigger_word", TriggerWordParams, Layout)
