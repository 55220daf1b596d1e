"""Stage `collect`: the photos to use, as a manifest (a folder per person, a CSV, or the generated demo)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, logger, publish_markdown, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.errors import DataError
from tasks.faces import collect as C
from tasks.faces.config import CollectParams, FacesParams, Layout
from tasks.io import atomic_dir, write_json, write_parquet

PEOPLE_PER_TASK = 8

render_people = task(C.render_demo_people, name="render-demo-people", cache_policy=NO_CACHE)
render_extras = task(C.render_demo_extras, name="render-demo-extras", cache_policy=NO_CACHE)


def generate_demo(tmp: Path, base: BaseParams, params: CollectParams) -> None:
    """Draw the demo people (in parallel tasks of a few people each) and the problem photos."""
    demo = params.demo
    retries = {"retries": base.retries, "retry_delay_seconds": 1}
    futures = [render_people.with_options(**retries).submit(tmp / "photos", base.seed, first,
                                                            min(PEOPLE_PER_TASK, demo.people - first), demo)
               for first in range(0, demo.people, PEOPLE_PER_TASK)]
    futures.append(render_extras.with_options(**retries).submit(tmp / "demo", base.seed, demo))
    C.render_demo_problems(tmp / "photos", base.seed, demo)
    with Progress(len(futures), "faces collect: drawing demo people", unit="task") as bar:
        for f in futures:
            f.result()
            bar.update()


def collect_into(tmp: Path, final: Path, base: BaseParams, params: CollectParams) -> dict:
    if params.manifest:
        frame, problems = C.from_csv(Path(params.manifest))
        source = f"manifest {params.manifest}"
    elif params.photos_dir:
        frame, problems = C.from_folders(Path(params.photos_dir))
        source = f"folders under {params.photos_dir}"
    else:
        generate_demo(tmp, base, params)
        frame, problems = C.from_folders(tmp / "photos")
        frame["path"] = [str(final / Path(p).relative_to(tmp)) for p in frame["path"]]
        source = "generated demo identities"
    if frame["person"].nunique() < 4:
        raise DataError(f"faces collect: {frame['person'].nunique()} people found in {source}; "
                        "need at least 4 (train, dev and test people must differ)")
    write_parquet(tmp / "manifest.parquet", frame)
    write_parquet(tmp / "problems.parquet", pd.DataFrame(problems, columns=["path", "reason"]))
    summary = {"source": source, "photos": len(frame), "people": int(frame["person"].nunique()),
               "problems": len(problems)}
    write_json(tmp / "summary.json", summary)
    return summary


@flow(name="faces-collect")
def collect(base: BaseParams, params: CollectParams, out_dir: str) -> dict:
    """Write ``out_dir/manifest.parquet`` (photo_id, person, path, sha256); ``out_dir`` replaced atomically."""
    with atomic_dir(out_dir) as tmp:
        summary = collect_into(Path(tmp), Path(out_dir), base, params)
    publish_table("faces-collect", [summary], "Photos collected")
    publish_markdown("faces-collect-summary", "\n".join(f"- **{k}**: {v}" for k, v in summary.items()),
                     "Faces collect summary")
    logger().info("faces collect: %s", summary)
    return summary


def run(base: BaseParams, params: FacesParams, layout: Layout, runner: str | None = None) -> None:
    """Stage faces_collect: the photos to use, as a manifest."""
    with_runner(collect, base, runner)(base, params.collect, str(layout.collect))


if __name__ == "__main__":
    stage_main(run, "faces", FacesParams, Layout)
