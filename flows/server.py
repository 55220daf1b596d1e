"""Start, stop and check a local Prefect server that flow runs report to (the UI lives there).

``python -m flows.server start`` starts ``prefect server start`` in the background (SQLite
under ``.prefect/`` by default; set ``PREFECT_API_DATABASE_CONNECTION_URL`` for PostgreSQL),
waits until its API answers, and prints the ``PREFECT_API_URL`` to export. ``stop`` ends it;
``status`` says whether it answers.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

STATE = Path(".prefect")


def api_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/api"


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as r:  # noqa: S310 - loopback only
            return r.status == 200
    except OSError:
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to print when the server would accept connections from other machines."""
    if is_loopback(host):
        return None
    return (f"warning: the Prefect server has no authentication: anyone who can reach {host}:{port} can read "
            "every run's parameters, logs and artifacts, and start or cancel runs. Keep it on 127.0.0.1, or "
            "put it behind a firewall or an authenticating proxy.")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def start(host: str = "127.0.0.1", port: int = 4200, wait_s: float = 90.0) -> str:
    """Start a server in the background unless one already answers; returns its API URL."""
    url = api_url(host, port)
    if healthy(url):
        return url
    STATE.mkdir(exist_ok=True)
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(STATE.resolve()))}
    env.pop("PREFECT_API_URL", None)
    log = open(STATE / "server.log", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", host,
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    (STATE / "server.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if healthy(url):
            return url
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}; see {STATE / 'server.log'}")
        time.sleep(0.5)
    raise RuntimeError(f"prefect server did not answer at {url} within {wait_s:.0f} s; see {STATE / 'server.log'}")


def stop() -> bool:
    """Stop the server this command started; returns whether one was running."""
    pid_file = STATE / "server.pid"
    if not pid_file.is_file():
        return False
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink()
        return False
    pid_file.unlink()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4200)
    args = parser.parse_args(argv)
    url = api_url(args.host, args.port)
    if args.action == "start":
        if warning := exposure_warning(args.host, args.port):
            print(warning, file=sys.stderr)  # noqa: T201
        print(start(args.host, args.port))  # noqa: T201 - the URL to export
    elif args.action == "stop":
        print("stopped" if stop() else "no server started by this command was running")  # noqa: T201
    else:
        up = healthy(url)
        print(f"{url}: {'up' if up else 'down'}")  # noqa: T201
        return 0 if up else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
