"""What the pipeline flow reads from DVC: stage order, upstream stages, outputs, staleness.

One `Repo` load gives all of it (:func:`load_plan`), so a run with nothing stale builds DVC's
index once. :func:`restore_lock_order` keeps dvc.lock's stage order the one a serial `dvc repro`
writes, whatever order concurrent stages finished in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Plan:
    """The repo's stages as DVC sees them."""

    order: list[str]  # `dvc repro`'s own order (upstream first)
    direct: dict[str, frozenset[str]]  # stage -> the stages it reads outputs of
    outs: list[Path]
    metrics: list[tuple[str, str]]  # (stage, path relative to the repo)
    plots: list[tuple[str, str]]
    stale: dict[str, list]  # stage -> what changed, for the stale ones among the status targets

    def upstream(self) -> dict[str, set[str]]:
        """Stage -> every stage upstream of it (transitively)."""
        closure: dict[str, set[str]] = {}

        def up(name: str) -> set[str]:
            if name not in closure:
                closure[name] = set().union(*({d} | up(d) for d in self.direct[name]))
            return closure[name]

        return {name: up(name) for name in self.direct}


def select(order: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """The stages of ``order`` matching any glob pattern (all of them when none are given)."""
    import fnmatch

    from tasks.errors import ParamsError

    if not patterns:
        return list(order)
    unknown = [p for p in patterns if not fnmatch.filter(order, p)]
    if unknown:
        raise ParamsError(f"--stages: no stage matches {', '.join(unknown)}; stages: {', '.join(order)}")
    return [s for s in order if any(fnmatch.fnmatch(s, p) for p in patterns)]


def load_plan(repo_dir: Path, status: bool = False, patterns: Sequence[str] | None = None) -> Plan:
    """Read the stages of ``repo_dir``; with ``status``, ask DVC which of them (those matching
    ``patterns``, all by default) are stale, in the same repository load."""
    from dvc.repo import Repo
    from dvc.repo.reproduce import get_active_graph, plan_repro

    with Repo(str(repo_dir), _wait_for_lock=True) as repo:
        stages = list(repo.index.stages)
        graph = repo.index.graph  # edges: stage -> a stage it depends on
        order = [s.addressing for s in plan_repro(get_active_graph(graph), stages)]
        direct = {s.addressing: frozenset(d.addressing for _, d in graph.out_edges(s)) for s in stages}
        outs = [(s.addressing, o) for s in stages for o in s.outs]
        stale = stage_status(repo, stages, select(order, patterns)) if status else {}
    return Plan(order=order, direct=direct, outs=[Path(o.fs_path) for _, o in outs],
                metrics=[(s, o.def_path) for s, o in outs if o.metric],
                plots=[(s, o.def_path) for s, o in outs if o.plot], stale=stale)


def stage_status(repo: Any, stages: Sequence[Any], names: Sequence[str]) -> dict[str, list]:
    """`dvc status` of the stages named ``names``: stage name -> what changed, stale ones only.

    What ``repo.status(targets=names)`` computes, from the stages already loaded: that call
    parses dvc.yaml, dvc.lock and params.yaml again for every target (most of a no-op run).
    """
    wanted = set(names)
    status: dict[str, list] = {}
    with repo.lock, params_read_once():
        for stage in stages:
            if stage.addressing in wanted:
                status.update(stage.status(check_updates=True))
    return status


@contextmanager
def params_read_once() -> Iterator[None]:
    """While in the block, DVC parses each params file once, not once per stage that reads it.

    DVC's params dependency calls ``load_path`` for every stage (params.yaml is about 600 lines);
    within one status check the file does not change, so a parse is reused (a deep copy each
    time, so no caller sees another's changes).
    """
    import copy

    from dvc.dependency import param

    original = param.load_path
    parsed: dict[tuple, Any] = {}

    def load_path(path: Any, fs: Any, **kwargs: Any) -> Any:
        key = (str(path), id(fs), tuple(sorted(kwargs.items())))
        if key not in parsed:
            parsed[key] = original(path, fs, **kwargs)
        return copy.deepcopy(parsed[key])

    param.load_path = load_path
    try:
        yield
    finally:
        param.load_path = original


def stale_stages(repo_dir: Path, targets: Sequence[str]) -> dict[str, list]:
    """DVC's status of ``targets``: stage name -> what changed, for the stale ones only.

    Waits for DVC's repository lock, which stage processes take while they record their results.
    """
    from dvc.repo import Repo

    with Repo(str(repo_dir), _wait_for_lock=True) as repo:
        return stage_status(repo, list(repo.index.stages), targets)


def lock_stage_names(repo_dir: Path) -> list[str]:
    """The stage names in dvc.lock, in file order ([] when there is none)."""
    import yaml

    path = repo_dir / "dvc.lock"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text()) or {}
    return list(data.get("stages") or {})


def restore_lock_order(repo_dir: Path, before: Sequence[str], order: Sequence[str]) -> bool:
    """Put dvc.lock's stages in the order a serial `dvc repro` leaves them; True if it moved any.

    A serial run keeps the stages already in dvc.lock where they were and appends new ones in
    its own order; concurrent stages append in the order they finish. Rewritten by DVC's own
    YAML writer under DVC's repository lock, only when the order differs.
    """
    from dvc.repo import Repo
    from dvc.utils.serialize import modify_yaml

    rank = {name: i for i, name in enumerate(order)}
    kept = set(before)
    now = lock_stage_names(repo_dir)
    new = sorted((s for s in now if s not in kept), key=lambda s: rank.get(s, len(rank)))
    wanted = [s for s in before if s in now] + new
    if wanted == now:
        return False
    with Repo(str(repo_dir), _wait_for_lock=True) as repo, repo.lock, \
            modify_yaml(str(repo_dir / "dvc.lock"), fs=repo.fs) as data:
        stages = data["stages"]
        items = {name: stages[name] for name in list(stages)}
        for name in list(stages):
            del stages[name]
        for name in wanted:
            stages[name] = items[name]
    return True


def read_metrics(path: Path) -> dict:
    """A JSON metrics file as a dict ({} when missing or unreadable: the summary must not fail)."""
    import json

    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def outputs_summary(repo_dir: Path, plan: Plan, table: str) -> str:
    """Markdown: the stage table, then the metrics and plots that dvc.yaml declares."""
    lines = ["# Pipeline run", "", table, ""]
    if plan.metrics:
        lines += ["## Metrics", ""]
        for stage, rel in plan.metrics:
            values = read_metrics(repo_dir / rel)
            flat = ", ".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                             for k, v in values.items() if isinstance(v, (int, float, str)))
            lines.append(f"- `{rel}` ({stage}){': ' + flat if flat else ''}")
        lines.append("")
    if plan.plots:
        lines += ["## Plots", "", "Render them to HTML with `dvc plots show` (opens dvc_plots/index.html).", ""]
        lines += [f"- [{rel}]({(repo_dir / rel).resolve().as_uri()}) ({stage})" for stage, rel in plan.plots]
    return "\n".join(lines)
