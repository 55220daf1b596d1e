"""Reading params.yaml into frozen, validated objects.

Every flow calls :func:`load_params` once where it starts; tasks receive the typed
objects as arguments and never open the file themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.errors import ParamsError

DEFAULT_PARAMS = Path("params.yaml")

# Top-level sections a params file may hold; anything else is a typo.
KNOWN_SECTIONS = frozenset({"base", "trigger_word", "day_night", "faces", "art", "pipeline"})


class StrictModel(BaseModel):
    """Base for params sections: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class BaseParams(StrictModel):
    """The `base` section shared by every pipeline."""

    seed: int = Field(0, ge=0, description="Root seed; every random choice derives from it.")
    data_dir: str = Field("data", min_length=1, description="Root folder of every output.")
    task_runner: str = Field(
        "threads", pattern=r"^(threads|processes|dask(:.+)?)$",
        description="Task runner for shardable stages: threads, processes, dask, dask:ADDRESS.",
    )
    workers: int = Field(2, ge=1, description="Workers for the task runner.")
    retries: int = Field(2, ge=0, description="Retries of file-reading/writing tasks.")


class SplitRuleParams(StrictModel):
    """Split sizes: explicit dev/test fractions, or the lecture's rule (see ``tasks.splits``)."""

    dev_fraction: float | None = Field(None, ge=0, le=1)
    test_fraction: float | None = Field(None, ge=0, le=1)
    rule_fraction: float = Field(0.2, gt=0, lt=0.5)
    rule_cap: int = Field(10000, ge=1)

    @model_validator(mode="after")
    def _sum(self) -> SplitRuleParams:
        if (self.dev_fraction or 0) + (self.test_fraction or 0) >= 1:
            raise ValueError("dev_fraction + test_fraction must leave room for train")
        return self


M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a params file into a dict, rejecting unknown top-level sections."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: top level must be a mapping of sections")
    unknown = sorted(set(raw) - KNOWN_SECTIONS)
    if unknown:
        raise ParamsError(
            f"{path}: unknown section(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_SECTIONS))}"
        )
    return raw


def validate_section(raw: dict[str, Any], section: str, model: type[M], path: Path) -> M:
    """Validate ``raw[section]`` into ``model``; errors name ``section.key`` and the file."""
    data = raw.get(section) or {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join([section, *(str(p) for p in err["loc"])])
            problems.append(f"  {key}: {err['msg']} (got {err.get('input')!r})")
        raise ParamsError(f"{path}: invalid params\n" + "\n".join(problems)) from None


def load_params(path: Path | str, section: str, model: type[M]) -> tuple[BaseParams, M]:
    """Load ``base`` and one pipeline section of a params file, both validated."""
    path = Path(path)
    raw = read_yaml(path)
    return validate_section(raw, "base", BaseParams, path), validate_section(raw, section, model, path)
