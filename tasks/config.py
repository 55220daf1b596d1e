"""Reading params.yaml into frozen, validated objects.

Every flow calls :func:`load_params` once where it starts; tasks receive the typed
objects as arguments and never open the file themselves.

A params file is read strictly: every section and sub-section must be there (a missing or
``null`` one is an error naming it, never a silent fall-back to code defaults), and values
must have the key's type (``true`` is not a count, ``"10"`` is not a number, ``.nan`` is
not a level).
"""

from __future__ import annotations

import json
import re
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

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


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
    max_image_pixels: int = Field(
        120_000_000, ge=1, description="Largest image decoded, in pixels (width x height); larger "
        "files are refused one by one as 'too large' (decompression bombs).",
    )


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


class _Loader(yaml.SafeLoader):
    """YAML 1.1's safe loader, but ``1e-3`` is the number it looks like (not a string)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+][0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a params file into a dict, rejecting unknown top-level sections."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader) or {}  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: top level must be a mapping of sections")
    unknown = sorted(set(raw) - KNOWN_SECTIONS)
    if unknown:
        raise ParamsError(
            f"{path}: unknown section(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_SECTIONS))}"
        )
    return raw


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The params model a field holds, when the field is a (required) sub-section."""
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def missing_sections(data: Any, model: type[BaseModel], where: str) -> list[str]:
    """Dotted names of the sub-sections of ``model`` that ``data`` lacks or leaves ``null``.

    A sub-section is a field whose type is a params model (``X | None`` fields, where null
    means "none", are not sub-sections). Keys are matched by alias, as the file spells them.
    """
    if not isinstance(data, dict):
        return []
    missing = []
    for name, field in model.model_fields.items():
        sub = _section_model(field.annotation)
        if sub is None:
            continue
        key = field.alias or name
        if data.get(key) is None:
            missing.append(f"{where}.{key}")
        else:
            missing += missing_sections(data[key], sub, f"{where}.{key}")
    return missing


def validate_section(raw: dict[str, Any], section: str, model: type[M], path: Path) -> M:
    """Validate ``raw[section]`` into ``model``; errors name ``section.key`` and the file.

    Strict: a missing or null section or sub-section is an error (no silent defaults), and
    values are not coerced between types (YAML lists may stand for tuples).
    """
    data = raw.get(section)
    if data is None:
        state = "is null" if section in raw else "is missing"
        raise ParamsError(f"{path}: section {section!r} {state}; copy it from params.yaml (no defaults are "
                          "assumed for a whole section)")
    missing = missing_sections(data, model, section)
    if missing:
        raise ParamsError(f"{path}: section(s) missing or null: {', '.join(missing)}; copy them from params.yaml")
    try:
        # JSON mode: strict about types, while a YAML list may still fill a tuple field
        return model.model_validate_json(json.dumps(data, default=str), strict=True)
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
    base = validate_section(raw, "base", BaseParams, path)
    from tasks.images.io import set_max_pixels  # a process-wide limit, like Pillow's own

    set_max_pixels(base.max_image_pixels)
    return base, validate_section(raw, section, model, path)
