"""Operations end to end on a tiny repo copy (slow): the data stages through the pipeline flow on
a real server, then the Dask runner, a DVC remote round trip and a failing stage."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tasks.io import hash_tree
from tests.conftest import write_params
from tests.flows.test_pipeline_helpers import PY, TW_DATA_STAGES, Server, dvc, env, sh, tiny_repo

pytestmark = pytest.mark.slow

OUTS = ["collect", "split", "clips", "features"]


def hashes(repo) -> dict[str, str]:
    return {d: hash_tree(repo / "data" / "trigger_word" / d) for d in OUTS}


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """A tiny repo whose data stages the pipeline flow ran, against a real server."""
    tmp = tmp_path_factory.mktemp("ops-slow")
    repo = tiny_repo(tmp / "repo")
    server = Server(tmp / "prefect")
    try:
        out = sh([PY, "-m", "flows.pipeline", "--stages", *TW_DATA_STAGES], repo, timeout=900,
                 **server.client_env())
        yield repo, server, out.stdout + out.stderr
    finally:
        server.stop()


def test_pipeline_runs_data_stages_and_dvc_is_clean(ran):
    repo, _, out = ran
    assert "4 of 4 stages stale" in out
    assert "Data and pipelines are up to date" in dvc(repo, "status", *TW_DATA_STAGES).stdout


def test_dask_cluster_gives_the_thread_pool_bytes(ran, tmp_path):
    repo, server, _ = ran
    data = tmp_path / "data"
    for d in ("collect", "split"):
        shutil.copytree(repo / "data" / "trigger_word" / d, data / "trigger_word" / d)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["base"].update(data_dir=str(data), workers=2)
    params_file = write_params(tmp_path / "params.yaml", params)
    sh([PY, "-m", "flows.trigger_word", "synthesize", "--params", str(params_file), "--task-runner", "dask"],
       repo, timeout=600, **server.client_env())
    assert hash_tree(data / "trigger_word" / "clips") == hash_tree(repo / "data" / "trigger_word" / "clips")


def test_remote_push_delete_pull_restores_bytes(ran, tmp_path):
    repo, _, _ = ran
    before = hashes(repo)
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "remote"))
    dvc(repo, "push")
    shutil.rmtree(repo / ".dvc" / "cache")
    for d in OUTS:
        shutil.rmtree(repo / "data" / "trigger_word" / d)
    dvc(repo, "pull", *TW_DATA_STAGES)
    assert hashes(repo) == before
    again = dvc(repo, "repro", *TW_DATA_STAGES)
    assert "Running stage" not in again.stdout, again.stdout


def test_failed_stage_names_itself_and_keeps_outputs(ran):
    repo, server, _ = ran
    before = hashes(repo)
    good = (repo / "params.yaml").read_text()
    bad = yaml.safe_load(good)
    bad["trigger_word"]["split"]["rule_fraction"] = 5.0  # out of range: the split stage stops
    write_params(repo / "params.yaml", bad)
    try:
        out = subprocess.run([PY, "-m", "flows.pipeline", "--stages", *TW_DATA_STAGES], cwd=repo,
                             env=env(**server.client_env()), capture_output=True, text=True, timeout=600)
    finally:
        (repo / "params.yaml").write_text(good)
    assert out.returncode == 1
    assert "stage tw_split failed" in out.stderr, out.stderr[-3000:]
    assert "rule_fraction" in out.stdout + out.stderr
    assert "| tw_split | failed |" in out.stderr and "| tw_features | not run |" in out.stderr
    assert hashes(repo) == before
    assert "Data and pipelines are up to date" in dvc(repo, "status", *TW_DATA_STAGES).stdout


def test_experiment_then_plots_and_metrics_diff(ran):
    repo, server, _ = ran
    exp = dvc(repo, "exp", "run", "-S", "trigger_word.train.epochs=1", "tw_evaluate", timeout=900, **server.client_env())
    assert "Running stage 'tw_train'" in exp.stdout and "Running stage 'tw_collect'" not in exp.stdout
    shown = json.loads(dvc(repo, "exp", "show", "--json").stdout)
    exps = [e for row in shown for e in row.get("experiments") or []]
    assert exps and all(e["name"] for e in exps)
    assert '"epochs": 1' in json.dumps(exps)
    diff = dvc(repo, "metrics", "diff", "--json").stdout
    assert "eval_metrics.json" in diff
    dvc(repo, "plots", "show", "-o", "plots_html")
    html = (repo / "plots_html" / "index.html").read_text()
    assert "DET curve" in html and "dev_loss" in html
