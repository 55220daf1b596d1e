"""Benchmark: the same stale stages run one at a time and side by side, in the same run.

Run: ``python -m benchmarks.pipeline_parallel [--demo | --repo DIR] [--workers 2 4] [--stages PATTERN ...]``

Without ``--repo`` it builds a tiny copy of this repository in a temporary folder (every
pipeline shrunk as in its flow test: a few voices, 60 images, 36 people, one small style
transfer); with ``--repo DIR`` the copy takes DIR's code, dvc.yaml and params.yaml (the demo
scale for this repository: about 15 minutes per serial run on 2 cores). Each mode runs in its
own fresh copy made before anything ran (every stage stale, no shared DVC cache, so no run-cache
hit), against one local Prefect server started here: `dvc repro` (DVC's own serial run), then
``python -m flows.pipeline --workers N`` for N = 1 (one stage at a time) and each ``--workers``
value. It prints each wall time and its speed-up over ``--workers 1``, and checks that every
copy ends with the same dvc.lock stage names and a clean `dvc status`. Goal: >= 1.3x with 2
workers on 2 cores.

``--demo`` is the issue's goal as stated: the README's main command (``python -m flows.pipeline``)
on the real default pipeline, this checkout's code, dvc.yaml and params.yaml (demo scale), every
stage stale, run one stage at a time (``--workers 1``) and two at a time (``--workers 2``), in
the same run (``--repo .`` with ``--workers 2 --no-dvc-repro``). It takes about 40 minutes on 2
idle cores and about 3 GB under the temporary folder; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tests.flows.test_pipeline_helpers import PY, Server, dvc, env, tiny_params, tiny_repo


def tiny_all_params() -> dict:
    """Every pipeline at its flow test's size (the trigger word as the operations tests shrink it)."""
    from tests.flows.test_day_night_flow import shrink as shrink_day_night
    from tests.flows.test_faces_flow import shrink as shrink_faces

    params = shrink_faces(shrink_day_night(tiny_params(), Path("data")), Path("data"))
    params["art"] |= {"size": 64, "steps": 10, "snapshots": 2, "pairs": params["art"]["pairs"][:1]}
    return params


def source_repo(dest: Path, repo: Path | None) -> Path:
    """The copy every mode starts from: tiny params, or those of ``repo``."""
    root = repo or ROOT
    params = yaml.safe_load((repo / "params.yaml").read_text()) if repo else tiny_all_params()
    out = tiny_repo(dest, params, root=root)
    shutil.copytree(root / "assets", out / "assets")  # the day/night real-photo check reads it
    dvc(out, "config", "cache.type", "reflink,hardlink,copy")  # outputs linked, not copied, into the cache
    return out


def timed(cmd: list[str], repo: Path, extra: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=env(**extra), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed in {repo}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, help="take code, dvc.yaml and params.yaml from this repo "
                        "(default: a tiny copy of this one)")
    parser.add_argument("--demo", action="store_true", help="the real default pipeline at demo scale: "
                        "this checkout, --workers 1 against --workers 2, no `dvc repro` mode")
    parser.add_argument("--workers", type=int, nargs="+", default=None,
                        help="parallel modes (default: 2 4; with --demo: 2)")
    parser.add_argument("--stages", nargs="+", default=[], help="only these stages (names or globs)")
    parser.add_argument("--no-dvc-repro", action="store_true", help="skip the `dvc repro` mode")
    args = parser.parse_args()
    if args.demo:
        if args.repo:
            parser.error("--demo takes this checkout; use --repo DIR for another one")
        args.repo, args.no_dvc_repro = ROOT, True
    args.workers = args.workers or ([2] if args.demo else [2, 4])
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        src = source_repo(tmp / "source", args.repo.resolve() if args.repo else None)
        modes: list[tuple[str, list[str]]] = []
        if not args.no_dvc_repro and not args.stages:
            modes.append(("dvc repro (serial)", [PY, "-m", "dvc", "repro"]))
        stages = ["--stages", *args.stages] if args.stages else []
        for n in [1, *args.workers]:
            modes.append((f"pipeline --workers {n}", [PY, "-m", "flows.pipeline", "--workers", str(n), *stages]))
        copies = {}
        for i, (name, _) in enumerate(modes):
            copies[name] = tmp / f"run{i}"
            shutil.copytree(src, copies[name], symlinks=True)
        server = Server(tmp / "prefect")
        try:
            times = {}
            for name, cmd in modes:
                times[name] = timed(cmd, copies[name], server.client_env())
                print(f"{name:24s} {times[name]:8.1f} s", flush=True)
        finally:
            server.stop()
        locks = {name: yaml.safe_load((copies[name] / "dvc.lock").read_text())["stages"] for name, _ in modes}
        names = {name: sorted(lock) for name, lock in locks.items()}
        if len({tuple(v) for v in names.values()}) != 1:
            raise SystemExit(f"the modes recorded different stages in dvc.lock: {names}")
        first = next(iter(locks.values()))
        differ = sorted({s for lock in locks.values() for s in lock if lock[s] != first[s]})
        for name, _ in modes:
            status = dvc(copies[name], "status", *args.stages).stdout
            if "up to date" not in status:
                raise SystemExit(f"{name}: dvc status not clean:\n{status}")
    serial = times["pipeline --workers 1"]
    print(f"\n{'the default pipeline at demo scale' if args.demo else 'copies of ' + str(args.repo or 'a tiny repo')}; "
          f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"{len(first)} stages; dvc.lock entries equal in every mode: "
          f"{'yes' if not differ else 'no, these differ: ' + ', '.join(differ)}")
    print(f"speed-up over --workers 1 ({serial:.1f} s):")
    for name, seconds in times.items():
        print(f"  {name:24s} {serial / seconds:5.2f}x")


if __name__ == "__main__":
    main()
