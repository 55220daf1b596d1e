"""One declarative stage registry per pipeline: dvc.yaml and the command line are made from it.

A pipeline lists its stages as :class:`Stage` records (``flows/<pipeline>/stages.py``). Each
names its entry, ``flows.<pipeline>.<module>:run``; the module is runnable
(``python -m flows.<pipeline>.<module>``, the stage's dvc.yaml ``cmd``), so dvc.yaml -> code is
one hop. A stage's code deps are not written by hand: they are the project files in the import
closure of its entry module (:func:`import_closure`, read with :mod:`ast`, function-level
imports included), so editing a module makes exactly the stages importing it stale.

Adding a stage: put its body in ``tasks/<pipeline>/`` as plain functions; write the Prefect wiring
in ``flows/<pipeline>/<module>.py`` with ``run(base, params, layout, runner=None)`` and, at the end,
``if __name__ == "__main__": stage_main(run, "<section>", <Params>, Layout)``; add a ``Stage(...)``
to ``flows/<pipeline>/stages.py`` (name, command, entry, help, params keys, data deps, outs,
metrics, plots from the ``Layout``); run ``python -m flows.dvc_stages``. The subcommand
``python -m flows.<pipeline> <command>`` appears by itself.
"""

from __future__ import annotations

import argparse
import ast
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "tasks", "models")  # the project's code: what a stage's code deps are drawn from
IMAGE_READER = "tasks.images.io"
IMAGE_LIMIT_PARAM = "base.max_image_pixels"
# Imports the reader only to apply the limit read from params.yaml: not a sign the stage reads images.
LIMIT_SETTER = "tasks/config.py"


class RegistryError(ValueError):
    """A stage registry that cannot become a valid dvc.yaml (overlapping outputs, unknown params)."""


@dataclass(frozen=True)
class Out:
    """An output, metrics or plots file with its DVC options (``cache=False``, plot ``x``/``y``/``title``)."""

    path: str
    options: Mapping[str, Any] = field(default_factory=dict)


def out(path: object, **options: Any) -> Out:
    """An output with DVC options, e.g. ``out(layout.history, cache=False, x="epoch", y="dev_loss")``."""
    return Out(str(path), options)


def report(path: object, **plot: Any) -> Out:
    """A small report file kept in git rather than the DVC cache (``cache: false``)."""
    return Out(str(path), {"cache": False, **plot})


@dataclass(frozen=True)
class Stage:
    """One DVC stage and its CLI subcommand.

    ``entry`` is ``module:function``; the function is called as ``run(base, params, layout, runner)``
    with the pipeline's validated params and ``Layout``. ``params`` are the params.yaml keys the
    stage reads; ``deps`` its data inputs (code deps are computed); ``outs``, ``metrics`` and
    ``plots`` what it writes (paths or :class:`Out`). Every output is ``persist``: stages write
    atomically, so the old output stays until the new one replaces it.
    """

    name: str
    command: str
    entry: str
    help: str
    params: Sequence[str] = ()
    deps: Sequence[object] = ()
    outs: Sequence[object] = ()
    metrics: Sequence[object] = ()
    plots: Sequence[object] = ()

    @property
    def module(self) -> str:
        return self.entry.partition(":")[0]

    def run_function(self) -> Callable[..., Any]:
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function or "run")


# ---- code deps: the import closure --------------------------------------------------------------

def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file that defines module ``name`` under ``root`` (a package's ``__init__.py``), if any."""
    base = root.joinpath(*name.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def imported_names(path: Path, module: str) -> set[str]:
    """Every module name ``path`` may import: all import statements, function-level ones too;
    ``from x import y`` counts ``x`` and ``x.y`` (which is kept only when it is a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                head = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{head}.{node.module}" if node.module else head
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def runs_code(path: Path) -> bool:
    """Whether importing ``path`` can do anything a stage's outputs depend on: not when the file is
    empty, comments or only a docstring (as most package ``__init__.py`` here are). Adding code to
    such a file puts it back in the closures of the stages that import it (regenerate dvc.yaml)."""
    body = ast.parse(path.read_text(), filename=str(path)).body
    first = body[0] if body else None
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    return len(body) > int(docstring)


def import_closure(entry_module: str, root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> list[str]:
    """The project files (relative POSIX paths, sorted) that importing ``entry_module`` may run:
    the module, every project module it imports transitively, and their packages' ``__init__.py``,
    less the files that run no code (:func:`runs_code`)."""
    packages = set(packages)
    seen: set[str] = set()
    files: set[str] = set()
    todo = [entry_module]
    while todo:
        name = todo.pop()
        if name in seen or name.split(".")[0] not in packages:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b.c runs a and a.b
        path = module_file(name, root)
        if path is None:
            continue
        if runs_code(path):  # each file is a DVC dep entry, and every entry costs each no-op repro
            files.add(path.relative_to(root).as_posix())
        todo += sorted(imported_names(path, name))
    return sorted(files)


# ---- dvc.yaml ---------------------------------------------------------------------------------------

def _entries(items: Iterable[object]) -> list[Out]:
    return [item if isinstance(item, Out) else Out(str(item)) for item in items]


def dvc_entry(stage: Stage, root: Path = ROOT) -> dict:
    """The dvc.yaml entry of ``stage``: ``cmd`` runs its module; deps are its code then its data."""
    code = import_closure(stage.module, root)
    params = list(stage.params)
    if reads_images(code, root) and IMAGE_LIMIT_PARAM not in params:
        params.append(IMAGE_LIMIT_PARAM)  # which images are refused as too large
    entry: dict[str, Any] = {"cmd": f"python -m {stage.module}", "deps": [*code, *map(str, stage.deps)]}
    if params:
        entry["params"] = params
    for kind in ("outs", "metrics", "plots"):
        items = _entries(getattr(stage, kind))
        if items:
            entry[kind] = [{o.path: {**o.options, "persist": True}} for o in items]
    return entry


def reads_images(code: Iterable[str], root: Path = ROOT) -> bool:
    """Whether a module of ``code`` (other than the params loader) imports the shared image reader."""
    for rel in code:
        if rel == LIMIT_SETTER:
            continue
        module = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        if IMAGE_READER in imported_names(root / rel, module):
            return True
    return False


def _has_key(params: Mapping[str, Any], key: str) -> bool:
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def check_registry(stages: Sequence[Stage], params: Mapping[str, Any], params_file: str = "params.yaml") -> None:
    """Refuse what DVC or a run would trip on later, naming both sides: two entries of one name,
    outputs that overlap (the same path, or one inside the other), unknown params keys."""
    problems = []
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            problems.append(f"stage {stage.name}: two registry entries have this name")
        seen.add(stage.name)
        for key in stage.params:
            if not _has_key(params, key):
                problems.append(f"stage {stage.name}: params key {key!r} does not exist in {params_file}")
    outputs = [(stage.name, PurePosixPath(o.path)) for stage in stages
               for kind in ("outs", "metrics", "plots") for o in _entries(getattr(stage, kind))]
    for i, (a_stage, a) in enumerate(outputs):
        for b_stage, b in outputs[i + 1:]:
            if a == b:
                problems.append(f"stages {a_stage} and {b_stage}: both write {a}")
            elif a in b.parents or b in a.parents:
                (in_stage, inner), (out_stage, outer) = (((a_stage, a), (b_stage, b)) if b in a.parents
                                                         else ((b_stage, b), (a_stage, a)))
                problems.append(f"stages {in_stage} and {out_stage}: output {inner} of {in_stage} lies inside "
                                f"output {outer} of {out_stage}")
    if problems:
        raise RegistryError("the stage registry is invalid:\n  " + "\n  ".join(problems))


# ---- command line -----------------------------------------------------------------------------------

def add_stage_commands(sub: argparse._SubParsersAction, stages: Iterable[Stage]) -> None:
    """One subcommand per stage (its ``command``), each taking ``--params`` and ``--task-runner``."""
    from flows.runtime import add_params_argument, add_runner_argument

    for stage in stages:
        p = sub.add_parser(stage.command, help=f"{stage.help} (DVC stage {stage.name})")
        add_params_argument(p)
        add_runner_argument(p)


def stage_for(stages: Iterable[Stage], command: str) -> Stage | None:
    return next((s for s in stages if s.command == command), None)
