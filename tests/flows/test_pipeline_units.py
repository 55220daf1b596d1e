"""Plain parts of the pipeline flow and runtime: stage order, selection, lock, shard errors."""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prefect.utilities.annotations import quote as prefect_quote
from prefect.utilities.collections import visit_collection

from flows.pipeline import pipeline_lock, select, stage_order, upstream_of
from flows.runtime import in_order, quote
from tasks.errors import DataError, ParamsError
from tests.conftest import ROOT


def test_stage_order_puts_upstream_first_and_covers_dvc_yaml():
    import yaml

    order = stage_order(ROOT)
    assert sorted(order) == sorted(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])
    up = upstream_of(ROOT)
    for i, stage in enumerate(order):
        assert up[stage] <= set(order[:i])
    assert "tw_collect" in up["tw_features"]


def test_select_keeps_order_and_rejects_unknown_patterns():
    order = ["a_collect", "a_split", "b_collect"]
    assert select(order, None) == order
    assert select(order, ["b_*", "a_collect"]) == ["a_collect", "b_collect"]
    with pytest.raises(ParamsError, match="nope"):
        select(order, ["nope"])


def test_lock_waits_for_holder_then_times_out(tmp_path, caplog):
    (tmp_path / ".dvc").mkdir()
    held = threading.Event()
    release = threading.Event()

    def holder():
        with pipeline_lock(tmp_path, 1.0) as ok:
            assert ok
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(10)
    try:
        start = time.monotonic()
        with caplog.at_level(logging.INFO), pipeline_lock(tmp_path, 0.5) as ok:
            assert not ok
        assert time.monotonic() - start >= 0.5
        assert "another pipeline run holds" in caplog.text and "pid" in caplog.text
    finally:
        release.set()
        t.join()
    with pipeline_lock(tmp_path, 0.0) as ok:  # released: taken at once
        assert ok


def test_failing_shard_is_named_with_its_input(caplog):
    def work(item: tuple[str, int]) -> int:
        if item[1] == 3:
            raise DataError(f"{item[0]}: unreadable")
        return item[1]

    with ThreadPoolExecutor(2) as pool, caplog.at_level(logging.ERROR):
        results = in_order(lambda item: pool.submit(work, item), [(f"f{i}.wav", i) for i in range(6)], 2)
        with pytest.raises(DataError, match="f3.wav: unreadable") as err:
            list(results)
    assert "shard 3 failed" in err.value.__notes__[0] and "('f3.wav', 3)" in err.value.__notes__[0]
    assert "shard 3 failed" in caplog.text



@dataclasses.dataclass(frozen=True)
class _Pool:
    words: tuple[str, ...]


def test_quoted_value_survives_pickling_to_a_dask_worker():
    """Dask pickles a task's parameters with their annotations; on the worker Prefect unwraps
    them (``remove_annotations``): the task must get the value itself, not ``(value,)``.
    ``copy.deepcopy`` rebuilds objects through the same ``__reduce_ex__`` protocol as pickle."""
    pool = _Pool(("activate", "active"))

    def on_worker(wrapped: object) -> object:
        params = copy.deepcopy({"pools": wrapped})
        return visit_collection(params, visit_fn=lambda x: x, return_data=True, remove_annotations=True)["pools"]

    assert on_worker(quote(pool)) == pool
    assert on_worker(prefect_quote(pool)) == (pool,)  # Prefect's own quote: why ours exists
