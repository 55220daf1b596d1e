"""Benchmark: a no-op run (nothing stale) through `dvc repro` and through the pipeline flow.

Run: ``python -m benchmarks.noop [--repo DIR] [--stages NAME ...] [--repeat N]``

Without ``--repo`` it builds a tiny copy of this repository in a temporary folder (the tests'
shrunken trigger-word params) and runs its pipeline once, untimed. Then, against a local
Prefect server started here, it times ``dvc repro`` with nothing stale and ``python -m
flows.pipeline`` with nothing stale (whole processes, as a scheduler runs them), the median of
``--repeat`` runs each, next to ``dvc status`` as the baseline, with their CPU seconds (the wall
time on a shared machine is mostly waiting). The flow is this checkout's (``--repo`` points it
at the repo), whatever code the repo holds. Goals: < 3 s and < 10 s.

``--dvc-only`` times only ``dvc status`` and ``dvc repro`` (no build, no server, no flow): with
``--repo .`` that is the no-op of this checkout's own data. Several ``--repo`` values (a baseline
and a change, e.g. two copies of a checkout) are timed interleaved, run by run, so that the load of
a shared machine falls on all of them alike; ``--repro-args -P`` adds ``dvc repro -P``. ``--layouts full`` (or ``demo``)
runs :mod:`benchmarks.noop_layouts`: the full-scale file counts, one file per word and clip
against shards, without running the pipeline.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.flows.test_pipeline_helpers import PY, Server, env, tiny_repo

CPU: dict[str, float] = {}  # command -> median CPU seconds (its process and children)


def timed(cmd: list[str], repo: Path, extra: dict[str, str], repeat: int) -> float:
    times, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT if "flows.pipeline" in cmd else repo, env=env(**extra),
                              capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode or "Running stage" in proc.stdout:
            raise SystemExit(f"{cmd} was not a no-op (exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    CPU[" ".join(cmd)] = statistics.median(cpus)
    return statistics.median(times)


def dvc_only(repos: list[Path], repeat: int, repro_args: list[str]) -> None:
    """No-op ``dvc status`` / ``dvc repro`` of each repo, interleaved: run i of every command in every
    repo before run i + 1, so a burst of load from other users falls on all of them alike."""
    from benchmarks.noop_layouts import timed as timed_cpu

    environ = {**os.environ, "PATH": os.pathsep.join([str(Path(PY).parent), os.environ.get("PATH", "")])}
    commands = [["status"], ["repro"], *([["repro", *repro_args]] if repro_args else [])]
    runs: dict[tuple[Path, str], list[tuple[float, float]]] = {}
    for _ in range(repeat):
        for cmd in commands:
            for repo in repos:
                runs.setdefault((repo, " ".join(cmd)), []).append(timed_cpu(cmd, repo, environ, 1))
    load = os.getloadavg()[0]
    print(f"no-op, median of {repeat} interleaved runs, wall (CPU) s; load average at the end {load:.1f}; goal < 3 s")
    for repo in repos:
        cells = []
        for cmd in commands:
            walls, cpus = zip(*runs[repo, " ".join(cmd)], strict=True)
            cells.append(f"`dvc {' '.join(cmd)}` {statistics.median(walls):.2f} ({statistics.median(cpus):.2f})")
        print(f"  {repo}: " + ", ".join(cells))
    if len(repos) > 1:
        base = statistics.median(c for _, c in runs[repos[0], "repro"])
        for repo in repos[1:]:
            cpu = statistics.median(c for _, c in runs[repo, "repro"])
            print(f"  `dvc repro` CPU {repo.name} / {repos[0].name}: {cpu / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, nargs="+", default=[],
                        help="an existing DVC repo to time (default: a tiny copy); several with --dvc-only")
    parser.add_argument("--stages", nargs="+", default=[], help="only these stage names, no globs (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dvc-only", action="store_true", help="only dvc status and dvc repro, no build or flow")
    parser.add_argument("--layouts", choices=["full", "demo"], help="run benchmarks.noop_layouts at this scale")
    parser.add_argument("--repro-args", nargs="+", default=[], help="with --dvc-only, also time `dvc repro ARGS`")
    args = parser.parse_args()
    if args.layouts:
        from benchmarks.noop_layouts import main as layouts

        return layouts(["--scale", args.layouts, "--repeat", str(args.repeat)])
    if args.dvc_only:
        return dvc_only([r.resolve() for r in args.repo or [Path(".")]], args.repeat, args.repro_args)
    if len(args.repo) > 1:
        parser.error("several --repo values only with --dvc-only")
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.repo[0].resolve() if args.repo else tiny_repo(Path(tmp) / "repo")
        server = Server(Path(tmp) / "prefect")
        try:
            extra = server.client_env()
            pipeline = [PY, "-m", "flows.pipeline", "--repo", str(repo),
                        *(["--stages", *args.stages] if args.stages else [])]
            t0 = time.perf_counter()
            build = subprocess.run(pipeline, cwd=repo, env=env(**extra), capture_output=True, text=True)
            if build.returncode:
                raise SystemExit(f"building the pipeline failed:\n{build.stdout[-3000:]}{build.stderr[-3000:]}")
            print(f"build (untimed): {time.perf_counter() - t0:.1f} s")
            status = timed([PY, "-m", "dvc", "status", *args.stages], repo, extra, args.repeat)
            repro = timed([PY, "-m", "dvc", "repro", *args.stages], repo, extra, args.repeat)
            flow = timed(pipeline, repo, extra, args.repeat)
        finally:
            server.stop()
    cpu = list(CPU.values())
    print(f"no-op `dvc status` (baseline):   {status:6.2f} s  (CPU {cpu[0]:.1f} s)")
    print(f"no-op `dvc repro`:               {repro:6.2f} s  ({repro / status:.1f}x baseline; goal < 3 s; "
          f"CPU {cpu[1]:.1f} s)")
    print(f"no-op pipeline flow, local server: {flow:6.2f} s  ({flow / status:.1f}x baseline; goal < 10 s; "
          f"CPU {cpu[2]:.1f} s)")


if __name__ == "__main__":
    main()
