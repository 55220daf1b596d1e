"""Helpers for the operations tests: a tiny copy of the repo and a real Prefect server.

No tests here; test_pipeline*.py and test_ops*.py import these.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tests.conftest import ROOT, write_params
from tests.flows.test_trigger_word_flow import shrink

PY = sys.executable
# The trigger-word stages up to features: what the operations tests run (small and quick).
TW_DATA_STAGES = ["tw_collect", "tw_split", "tw_synthesize", "tw_features"]


def tiny_params(data_dir: str = "data") -> dict:
    params = shrink(yaml.safe_load((ROOT / "params.yaml").read_text()), Path(data_dir))
    tw = params["trigger_word"]
    tw["collect"]["tts"].update(voices=4, voices_per_shard=2)
    tw["collect"]["negative_words"] = ["active", "kitchen"]
    tw["collect"]["generated_backgrounds"].update(count=3, seconds=10.0)
    tw["synthesize"].update(clips={"train": 4, "dev": 2, "test": 2}, shard_size=2)
    tw["features"].update(shard_size=3)
    tw["collect"]["cross_engine"]["enabled"] = False  # the trigger-word flow test covers it
    tw["collect"]["real_audio"]["enabled"] = False  # so do real recordings
    tw["synthesize"]["augment"]["rir"] = "synthetic"
    return params


def env(**extra: str) -> dict[str, str]:
    """The environment a command of the tiny repo runs in (this venv's Python first on PATH)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    out.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1",
               PATH=os.pathsep.join([str(Path(PY).parent), os.environ.get("PATH", "")]))
    out.update(extra)
    return out


def sh(cmd: list[str], cwd: Path, timeout: float = 300, check: bool = True, **extra: str):
    proc = subprocess.run(cmd, cwd=cwd, env=env(**extra), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode:
        raise AssertionError(f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def dvc(cwd: Path, *args: str, **kw):
    return sh([PY, "-m", "dvc", *args], cwd, **kw)


def tiny_repo(dest: Path, params: dict | None = None, root: Path = ROOT) -> Path:
    """A git + DVC repository with the code and dvc.yaml of ``root`` (this project) and tiny params."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("flows", "tasks", "models"):
        shutil.copytree(root / name, dest / name, ignore=ignore)
    shutil.copy(root / "dvc.yaml", dest / "dvc.yaml")
    write_params(dest / "params.yaml", params or tiny_params())
    return init_repo(dest, "tiny copy")


def init_repo(dest: Path, message: str) -> Path:
    """``git init`` + ``dvc init`` in ``dest`` and one commit of everything in it."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    sh(["git", "init", "-q"], dest)
    dvc(dest, "init", "-q")
    dvc(dest, "config", "core.analytics", "false")
    sh([*git, "add", "-A"], dest)
    sh([*git, "commit", "-q", "-m", message], dest)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class Server:
    """`prefect server start` on a free loopback port with its own SQLite database."""

    def __init__(self, home: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        home.mkdir(parents=True, exist_ok=True)
        self.env = env(PREFECT_HOME=str(home),
                       PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
                       PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
                       PREFECT_UI_ENABLED="false")
        self.log = open(home / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([PY, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                      "--port", str(self.port)], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while not healthy(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.5)

    def client_env(self, **extra: str) -> dict[str, str]:
        """What a process reporting to this server needs."""
        return {"PREFECT_API_URL": self.url, "PREFECT_HOME": self.env["PREFECT_HOME"], **extra}

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode
