"""Benchmark: no-op `dvc status` / `dvc repro` at full-scale file counts, old layout against shards.

Run: ``python -m benchmarks.noop_layouts [--scale full|demo] [--layout files|shards] [--flow]
[--repeat N] [--keep DIR]`` (also ``python -m benchmarks.noop --layouts``).

Running the full pipeline takes hours, and a no-op's cost depends on the stage graph, the
params files and the number of files in the outputs, not on what the files hold. So this
builds two git + DVC repositories with this project's own dvc.yaml and the preset's params
(``params-full.yaml`` as params.yaml for ``--scale full``) and this project's code (the code
deps), whose stages write placeholder outputs (64 bytes a file) with the file counts that
scale gives: ``files``, one WAV per word and per clip as before, and ``shards``, as now
(counts computed from the params with the pipeline's own planning functions; outputs of the
other pipelines as in this checkout's demo data). Each is reproduced once (untimed), then a
no-op ``dvc status`` and ``dvc repro`` are timed (whole processes, median of ``--repeat``) in
both, with DVC's YAML reader on libyaml and on pure Python, all in the same run. ``--flow`` also
times the no-op pipeline flow (``python -m flows.pipeline --repo``, libyaml, a local Prefect
server started here). What is real: this dvc.yaml, the preset's params, the code, the stage graph
and the file counts of the pipeline's planning code (trigger word: collect shards, clip shards,
feature shards, the evaluation's negative sessions). What is built to size: the files' contents.
A no-op does not read them (DVC compares each file's inode, mtime and size with its state
database), which ``--scale demo`` checks: its placeholder repo against this checkout's real
demo data (``python -m benchmarks.noop --dvc-only --repo .``).

Running the real full-scale stages instead was tried and stopped: ``tw_collect`` with
params-full.yaml (224 shards, 56,320 words) did 7 shards in 4 min on the shared 2 cores
(load 12-15), about 2 h for collect alone, before 49,200 clips (~16 GB) and their features.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PRESET = {"full": "params-full.yaml", "demo": "params.yaml"}
MAKE_OUTS = '''"""Write the placeholder outputs of one stage (benchmarks/noop_layouts.py)."""
import hashlib, json, os, sys
spec = json.load(open("outs.json"))[sys.argv[1]]
for out, entry in spec.items():
    if not isinstance(entry, dict):  # a single file: a copy of the real one (metrics must parse)
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        data = open(entry, "rb").read() if entry else hashlib.sha256(out.encode()).digest() * 2
        open(out, "wb").write(data)
        continue
    for folder, names in entry.items():
        d = os.path.join(out, folder)
        os.makedirs(d, exist_ok=True)
        if isinstance(names, int):
            names = [f"f-{i:06d}.wav" for i in range(names)]
        for name in names:
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(hashlib.sha256(p.encode()).digest() * 2)
'''


def tw_counts(preset: Path) -> dict[str, dict[str, dict[str, int]]]:
    """Files per folder of the trigger word's collect, clips and features outputs, per layout."""
    sys.path.insert(0, str(ROOT))
    from flows.trigger_word.collect import USER_SHARD
    from tasks.config import load_params
    from tasks.trigger_word.collect import tts_plan
    from tasks.trigger_word.config import SPLITS, TriggerWordParams
    from tasks.trigger_word.cross_engine import kokoro_plan
    from tasks.trigger_word.negatives import session_plan

    base, p = load_params(preset, "trigger_word", TriggerWordParams)
    c, ce = p.collect, p.collect.cross_engine
    plan = tts_plan(c, base.seed) if c.tts.enabled else []
    positives = sum(it.kind == "positive" for shard in plan for it in shard)
    words = sum(map(len, plan))
    kokoro = len(kokoro_plan(ce, c.positive_word, c.negative_words)) if ce.enabled else 0
    speech = 2 * ce.real_speech_files if ce.enabled else 0
    clips = {s: p.synthesize.clips.get(s, 0) for s in SPLITS}
    shards = {s: math.ceil(n / p.synthesize.shard_size) for s, n in clips.items()}
    features = {s: 2 * math.ceil(n / p.features.shard_size) for s, n in clips.items()}
    evaluation = {"negative_audio": 2 * len(session_plan(p.evaluate, p.synthesize.clip_seconds))}  # dev and test
    return {
        "files": {"collect": {"positives": positives, "negatives": words - positives,
                              "backgrounds": c.generated_backgrounds.count, "cross_engine": kokoro + speech},
                  "clips": clips, "features": features, "eval": evaluation},
        "shards": {"collect": {"positives": len(plan), "negatives": len(plan),
                               "backgrounds": c.generated_backgrounds.count,
                               "cross_engine": math.ceil(kokoro / ce.shard_size)
                               + 2 * math.ceil(ce.real_speech_files / (2 * USER_SHARD))},
                   "clips": shards, "features": features, "eval": evaluation},
    }


def out_spec(out: str, data_root: Path, overrides: dict[str, int] | None, dest: Path) -> dict | str | None:
    """The files of one output as in this checkout's data (small folders by name, big ones by count);
    a single file is copied under ``dest/seed`` and named by that copy."""
    real = data_root / out
    if real.is_file():
        seed = Path("seed") / out
        (dest / seed).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real, dest / seed)
        return seed.as_posix()
    if not real.exists():
        return None
    groups: dict[str, list[str]] = {}
    for path in sorted(p for p in real.rglob("*") if p.is_file()):
        groups.setdefault(path.parent.relative_to(real).as_posix(), []).append(path.name)
    spec: dict = {k: (v if len(v) <= 50 else len(v)) for k, v in groups.items()}
    for folder, n in (overrides or {}).items():
        keep = [name for name in groups.get(folder, []) if name.endswith((".parquet", ".json"))]  # manifests stay
        spec[folder] = keep + [f"f-{i:06d}.wav" for i in range(n)] if keep else n
    return spec


def build_repo(dest: Path, preset: Path, layout: dict[str, dict[str, int]]) -> int:
    """A git + DVC repo with this dvc.yaml, ``preset`` as params.yaml and placeholder outputs; returns files."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("flows", "tasks", "models", "assets"):  # the code and asset deps
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    shutil.copy(preset, dest / "params.yaml")
    params = yaml.safe_load(preset.read_text())
    data_dir = str(params["base"]["data_dir"])
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    spec: dict[str, dict] = {}
    n_files = 0
    for name, stage in pipeline["stages"].items():
        stage["cmd"] = f"python make_outs.py {name}"
        outs = {}
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                out = (next(iter(entry)) if isinstance(entry, dict) else entry).replace("${base.data_dir}", data_dir)
                tw = out.removeprefix(f"{data_dir}/trigger_word/")
                outs[out] = got = out_spec(out.removeprefix(f"{data_dir}/"), ROOT / "data",
                                           layout.get(tw) if name.startswith("tw_") else None, dest)
                n_files += sum(v if isinstance(v, int) else len(v) for v in got.values()) if isinstance(got, dict) else 1
        spec[name] = outs
    (dest / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    (dest / "outs.json").write_text(json.dumps(spec))
    (dest / "make_outs.py").write_text(MAKE_OUTS)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    run(["git", "init", "-q"], dest)
    run([PY, "-m", "dvc", "init", "-q"], dest)
    run([PY, "-m", "dvc", "config", "core.analytics", "false"], dest)
    run([*git, "add", "-A"], dest)
    run([*git, "commit", "-q", "-m", "benchmark copy"], dest)
    run([PY, "-m", "dvc", "repro", "-q"], dest, timeout=3600)
    return n_files


def env(pure_yaml: bool, shim: Path) -> dict[str, str]:
    out = {**os.environ, "PATH": os.pathsep.join([str(Path(PY).parent), os.environ.get("PATH", "")])}
    if pure_yaml:  # hide libyaml from ruamel.yaml, as on an install without ruamel.yaml.clib
        out["PYTHONPATH"] = os.pathsep.join([str(shim), out.get("PYTHONPATH", "")])
    return out


def run(cmd: list[str], cwd: Path, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode:
        raise SystemExit(f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc


def timed(cmd: str | list[str], repo: Path, environ: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of ``dvc cmd`` (``"status"`` or ``["repro", "-P"]``),
    checked to be a no-op.

    CPU time is reported beside wall time because the machine is shared: it barely moves when
    other work slows the wall clock.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        args = [cmd] if isinstance(cmd, str) else list(cmd)
        proc = run([PY, "-m", "dvc", *args], repo, env=environ)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if "Running stage" in proc.stdout or (args[0] == "status" and "up to date" not in proc.stdout):
            raise SystemExit(f"dvc {cmd} in {repo} was not a no-op:\n{proc.stdout[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def timed_flow(repo: Path, environ: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of a no-op ``python -m flows.pipeline --repo repo`` (run from here)."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = run([PY, "-m", "flows.pipeline", "--repo", str(repo)], ROOT, env=environ)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if "Running stage" in proc.stdout + proc.stderr:
            raise SystemExit(f"the pipeline flow in {repo} was not a no-op:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(PRESET), default="full")
    parser.add_argument("--layout", choices=["files", "shards"], nargs="+", default=["files", "shards"],
                        help="which layouts to build and time (default: both)")
    parser.add_argument("--libyaml-only", action="store_true", help="skip the pure-Python YAML reader runs")
    parser.add_argument("--flow", action="store_true", help="also time the no-op pipeline flow (local server)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the repos here and keep them (default: a temporary folder); "
                        "repos already built there are timed again without rebuilding")
    args = parser.parse_args(argv)
    preset = ROOT / PRESET[args.scale]
    counts = tw_counts(preset)
    readers = [False] if args.libyaml_only else [True, False]
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        shim = where / "pure-yaml"
        shim.mkdir(parents=True, exist_ok=True)
        (shim / "sitecustomize.py").write_text('import sys\nsys.modules["_ruamel_yaml"] = None\n')
        check = run([PY, "-c", "from ruamel.yaml.main import CParser; print(CParser is not None)"], where,
                    env=env(False, shim)).stdout.strip()
        if check != "True":
            raise SystemExit("ruamel.yaml.clib is not installed: run scripts/setup.sh")
        results, files = {}, {}
        for layout in args.layout:
            t0 = time.perf_counter()
            if (where / layout / "dvc.lock").is_file():
                print(f"{layout}: timing the repo built before in {where / layout}", flush=True)
            else:
                files[layout] = build_repo(where / layout, preset, counts[layout])
                print(f"{layout}: {files[layout]} files in the outputs, built in {time.perf_counter() - t0:.0f} s "
                      "(untimed)", flush=True)
            for pure in readers:
                for cmd in ("status", "repro"):
                    results[layout, pure, cmd] = timed(cmd, where / layout, env(pure, shim), args.repeat)
        if args.flow:
            from tests.flows.test_pipeline_helpers import Server

            server = Server(where / "prefect")
            try:
                environ = {**env(False, shim), **server.client_env(), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
                for layout in args.layout:
                    results[layout, False, "flow"] = timed_flow(where / layout, environ, args.repeat)
            finally:
                server.stop()
    print(f"\nno-op at {args.scale} scale ({PRESET[args.scale]}; outputs built to size, see the docstring), "
          f"median of {args.repeat}, whole processes, wall (CPU) seconds; load average {os.getloadavg()[0]:.1f}:")
    kinds = ["status", "repro", *(["flow"] if args.flow else [])]
    print(f"{'layout':8} {'YAML reader':12} {'dvc status':>16} {'dvc repro':>16}" + (f" {'pipeline flow':>16}" if args.flow else ""))
    for layout in args.layout:
        for pure in readers:
            cells = [f"{w:6.2f} ({c:5.2f})" if (w, c) != (None, None) else "" for w, c in
                     (results.get((layout, pure, k), (None, None)) for k in kinds)]
            print(f"{layout:8} {'pure Python' if pure else 'libyaml':12} " + " ".join(f"{c:>16}" for c in cells))
    if ("files", True, "repro") in results and ("shards", False, "repro") in results:
        (before, before_cpu), (after, after_cpu) = results["files", True, "repro"], results["shards", False, "repro"]
        print(f"dvc repro no-op: {before:.2f} s before (files, pure Python) -> {after:.2f} s now (shards, libyaml): "
              f"{before / after:.1f}x wall, {before_cpu / after_cpu:.1f}x CPU; goal < 3 s (flow < 10 s)")


if __name__ == "__main__":
    main()
