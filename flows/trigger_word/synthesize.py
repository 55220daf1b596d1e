"""Stage `synthesize`: labelled 10-second clips per split, written shard by shard."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.compute as pc
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, in_order, logger, publish_table, quote, stage_main, with_runner
from tasks.config import BaseParams
from tasks.errors import DataError
from tasks.io import atomic_dir, read_parquet, refuse_overlap, write_json
from tasks.trigger_word.clipset import (
    ManifestWriter,
    split_pools,
    synthesize_shard,
)
from tasks.trigger_word.config import SPLITS, Layout, SynthesizeParams, TriggerWordParams
from tasks.trigger_word.hard_negatives import load_sources
from tasks.trigger_word.synth import Pools

shard_task = task(synthesize_shard, name="synthesize-shard", cache_policy=NO_CACHE)


def synthesize_into(out: Path, pools: dict[str, Pools], base: BaseParams, params: SynthesizeParams,
                    sample_rate: int, workers: int, one_file_per_clip: bool = False) -> list[dict]:
    """Write every split's clips (in shards, or one WAV each) and ``clips.parquet`` into ``out``;
    returns per-split counts."""
    jobs = []
    for split in SPLITS:
        n = params.clips.get(split, 0)
        if n and not pools[split].backgrounds:
            raise DataError(f"synthesize: split {split!r} has no background recordings; add backgrounds "
                            f"or set trigger_word.synthesize.clips.{split}: 0")
        if n and not pools[split].positives:
            logger().warning("synthesize: split %r has no positive words; its clips hold none", split)
        jobs += [(split, list(range(i, min(i + params.shard_size, n)))) for i in range(0, n, params.shard_size)]
    submit = shard_task.with_options(retries=base.retries, retry_delay_seconds=1)
    counts: dict[str, dict] = {s: {"split": s, "clips": 0, "positives": 0, "negatives": 0, "label_ones": 0}
                               for s in SPLITS}
    total = sum(len(ix) for _, ix in jobs)
    with ManifestWriter(out / "clips.parquet") as writer, Progress(total, "synthesize", unit="clip") as bar:
        # quote(): Prefect would otherwise walk every Source of the pools at each submission
        # looking for futures, under the GIL, which cost more than synthesising the shard.
        results = in_order(lambda job: submit.submit(job[0], job[1], quote(pools[job[0]]), params.for_split(job[0]),
                                                     sample_rate, base.seed, out, one_file_per_clip),
                           jobs, window=4 * workers)
        for table in results:
            writer.write(table)
            c = counts[table.column("split")[0].as_py()]
            c["clips"] += table.num_rows
            c["positives"] += int(pc.sum(table.column("n_positives")).as_py() or 0)
            c["negatives"] += int(pc.sum(table.column("n_negatives")).as_py() or 0)
            c["label_ones"] += int(pc.sum(pc.list_flatten(table.column("labels"))).as_py() or 0)
            bar.update(table.num_rows)
    rows = [counts[s] for s in SPLITS]
    write_json(out / "summary.json", {"clips": rows, "ty": params.ty, "sample_rate": sample_rate,
                                      "clip_seconds": params.clip_seconds})
    return rows


def with_hard_negatives(pool: Pools, folder: Path, sample_rate: int) -> Pools:
    """The train pool plus the mined false accepts in ``folder`` as extra negative words."""
    extra, skipped = load_sources(folder, pool.root, sample_rate)
    logger().info("synthesize: %d hard negatives from %s added to train (%d set aside)", len(extra), folder,
                  len(skipped))
    if skipped:
        publish_table("trigger-word-hard-negatives-set-aside", skipped, "Hard negatives that could not be used")
    return dataclasses.replace(pool, negatives=pool.negatives + tuple(extra))


@flow(name="trigger-word-synthesize")
def synthesize(base: BaseParams, params: SynthesizeParams, collect_dir: str, split_dir: str,
               out_dir: str) -> list[dict]:
    """Synthesise the clip sets of every split into ``out_dir`` (replaced atomically)."""
    collect_dir, out_dir = Path(collect_dir), Path(out_dir)
    pools = split_pools(collect_dir, Path(split_dir))
    sample_rate = int(read_parquet(collect_dir / "positives.parquet").sample_rate.iloc[0])
    if params.hard_negatives_dir:
        pools["train"] = with_hard_negatives(pools["train"], Path(params.hard_negatives_dir), sample_rate)
    with atomic_dir(out_dir) as tmp:
        rows = synthesize_into(Path(tmp), pools, base, params, sample_rate, base.workers)
    publish_table("trigger-word-synthesize", rows, "Clips, inserted words and positive label steps per split")
    logger().info("synthesize: %s", rows)
    return rows


def run(base: BaseParams, params: TriggerWordParams, layout: Layout, runner: str | None = None) -> None:
    """Stage tw_synthesize: labelled 10-second clips per split."""
    refuse_overlap(layout.clips, [("trigger_word.synthesize.hard_negatives_dir", params.synthesize.hard_negatives_dir)],
                   "the synthesize stage's output")
    with_runner(synthesize, base, runner)(base, params.synthesize, str(layout.collect), str(layout.split),
                                          str(layout.clips))


if __name__ == "__main__":
    stage_main(run, "trigger_word", TriggerWordParams, Layout)
