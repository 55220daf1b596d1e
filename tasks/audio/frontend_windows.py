"""The speech frontend of many overlapping windows at once, each as if computed on its own.

Streaming scores windows as long as a training clip, each half a window after the last, and
the model was trained on features of whole clips. :class:`SpeechEmbedding` on every window
computes each stretch of audio twice; this computes the windows of a chunk of audio together
and gives, to float tolerance, what ``SpeechEmbedding()(window)`` gives for each window:

- the mel frames of the whole chunk once (they are framewise), before the model's floor
  (each run of ``melspectrogram.onnx`` clips its dB at its own maximum minus 80);
- the embedding model once over the chunk, with its last time pooling at stride 1 and the
  convolution after it dilated ("a trous"): one embedding every 4 mel frames instead of 8,
  so both phases a window can start on (a half window is 62.5 steps of 80 ms) come from the
  same pass, exactly;
- a window's first ``FIX`` embeddings, which hear the zeros padded in front of every clip,
  from the window's own first 0.72 s (batched over the windows);
- a window whose floor clips some of its frames (anything 80 dB under the window's loudest
  frame: silence between words, empty bands of band-limited audio) cannot share them with its
  neighbours, whose floors differ: it is computed on its own (from the shared mel frames).
  How much is shared thus depends on the audio: all of it over steady noise, about 40% of the
  windows in the evaluate stage's synthesized sessions.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import numpy as np

from tasks.audio import speech_embedding as se

TOP_DB = np.float32(80.0)  # the mel model's floor: its maximum minus this
FIX = se.PAD // se.STEP + 1  # embeddings whose 76 frames reach into the padded zeros (9)
FIX_FRAMES = 8 * (FIX - 1) + se.EMBED_FRAMES  # mel frames those need (140)
FIX_SLOT = -(-FIX_FRAMES // 8) * 8  # each window's slot in the batched call (144: 8-frame aligned)
PHASE = 4 * se.MEL_HOP  # window starts must fall on this grid of samples (640)


def _unclipped_mel(blob: bytes) -> bytes:
    """``melspectrogram.onnx`` returning its dB values before the floor at (maximum - 80)."""
    import onnx

    model = onnx.load_from_string(blob)
    (reduce,) = [n for n in model.graph.node if n.op_type == "ReduceMax"]
    del model.graph.output[:]
    model.graph.output.append(onnx.helper.make_tensor_value_info(reduce.input[0], onnx.TensorProto.FLOAT, None))
    return model.SerializeToString()


def _a_trous(blob: bytes) -> bytes:
    """The whole-sequence embedding model with one output every 4 mel frames: its last time
    pooling at stride 1 and every convolution after it dilated by 2 in time."""
    import onnx

    model = onnx.load_from_string(se._whole_sequence(blob))
    nodes = list(model.graph.node)

    def ints(node, name: str):
        return next(a for a in node.attribute if a.name == name).ints

    time_pools = [i for i, n in enumerate(nodes) if n.op_type == "MaxPool" and ints(n, "strides")[0] == 2]
    last = nodes[time_pools[-1]]
    ints(last, "strides")[0] = 1
    for n in nodes[time_pools[-1] + 1:]:
        if n.op_type == "Conv":
            ints(n, "dilations")[0] *= 2
    return model.SerializeToString()


_lock = threading.Lock()


@cache
def _sessions(folder: str, threads: int) -> tuple:
    return se.onnx_sessions(folder, threads, _unclipped_mel, _a_trous)


def supports(rate: int, win: int, hop: int) -> bool:
    """Whether windows of ``win`` samples every ``hop`` at ``rate`` Hz can share their frontend."""
    return rate == se.RATE and hop % PHASE == 0 and win // se.STEP > FIX


class WindowFrontend:
    """``count`` windows of ``win`` samples, ``hop`` apart, in one 16 kHz chunk
    -> ``(count, 96, win // 1280)`` embeddings, each window's as :class:`SpeechEmbedding` gives."""

    def __init__(self, win: int, hop: int, folder: Path | str | None = None, threads: int = 1):
        if not supports(se.RATE, win, hop):
            raise ValueError(f"windows of {win} samples every {hop} cannot share the frontend")
        self.win, self.hop, self.n_out = win, hop, win // se.STEP
        self.single = se.SpeechEmbedding(folder, threads)  # checks the files, names them if bad
        with _lock:
            self._mel, self._emb = _sessions(str(self.single.folder), threads)
        self._plain = self.single._emb
        self.frames = (se.PAD + win - se.MEL_WINDOW) // se.MEL_HOP + 1  # mel frames of one window

    def _db(self, padded: np.ndarray) -> np.ndarray:
        """``(B, n)`` int16-scale audio -> ``(B, frames, 32)`` dB, unclipped."""
        out = self._mel.run(None, {self._mel.get_inputs()[0].name: padded})[0]
        return out.reshape(padded.shape[0], -1, out.shape[-1])

    def __call__(self, chunk: np.ndarray, count: int) -> np.ndarray:
        hf = self.hop // se.MEL_HOP  # mel frames from one window's start to the next one's
        scaled = np.asarray(chunk, np.float32) * np.float32(32767.0)
        zeros = np.zeros(se.PAD, np.float32)
        db = self._db(np.concatenate([zeros, scaled])[None])[0]  # (frames, 32): frame f of window i is db[i * hf + f]
        starts = np.stack([np.concatenate([zeros, scaled[i * self.hop:i * self.hop + FIX * se.STEP]])
                           for i in range(count)])
        fix_db = self._db(starts)  # (count, FIX_FRAMES, 32): each window's first frames, with its own padding
        frame_max, frame_min = db.max(axis=1), db.min(axis=1)
        floors = np.empty(count, np.float32)
        clipped = np.zeros(count, bool)
        for i in range(count):
            lo, hi = i * hf, i * hf + self.frames
            floors[i] = np.float32(max(fix_db[i].max(), frame_max[lo + FIX_FRAMES:hi].max(initial=-np.inf))) - TOP_DB
            clipped[i] = frame_min[lo + 8 * FIX:hi].min() < floors[i]
        out = np.empty((count, se.DIM, self.n_out), np.float32)
        self._alone(out, db, fix_db, floors, np.flatnonzero(clipped), hf)
        self._runs(out, db, fix_db, floors, np.flatnonzero(~clipped), hf)
        return out

    def _alone(self, out: np.ndarray, db: np.ndarray, fix_db: np.ndarray, floors: np.ndarray,
               which: np.ndarray, hf: int) -> None:
        """Windows whose floor clips some of their frames: each window's own frames, clipped at
        its floor, through the embedding model (one call, 8-frame aligned slots)."""
        if not len(which):
            return
        slot = -(-self.frames // 8) * 8
        x = np.zeros((len(which), slot, db.shape[1]), np.float32)
        for k, i in enumerate(which):
            frames = np.concatenate([fix_db[i], db[i * hf + FIX_FRAMES:i * hf + self.frames]])
            x[k, :self.frames] = np.maximum(frames, floors[i]) / np.float32(10.0) + np.float32(2.0)
        y = self._plain.run(None, {self._plain.get_inputs()[0].name: x.reshape(1, -1, db.shape[1], 1)})[0]
        for k, i in enumerate(which):
            out[i] = y[:, k * slot // 8:k * slot // 8 + self.n_out]

    def _runs(self, out: np.ndarray, db: np.ndarray, fix_db: np.ndarray, floors: np.ndarray,
              which: np.ndarray, hf: int) -> None:
        """Windows whose floor clips none of their shared frames: one a-trous pass over each run of
        consecutive ones, and their first FIX embeddings (with the padding) in one batched call."""
        if not len(which):
            return
        slots = np.zeros((len(which), FIX_SLOT, db.shape[1]), np.float32)
        for k, i in enumerate(which):
            slots[k, :FIX_FRAMES] = np.maximum(fix_db[i], floors[i]) / np.float32(10.0) + np.float32(2.0)
        fix = self._plain.run(None, {self._plain.get_inputs()[0].name: slots.reshape(1, -1, db.shape[1], 1)})[0]
        for k, i in enumerate(which):
            out[i, :, :FIX] = fix[:, k * FIX_SLOT // 8:k * FIX_SLOT // 8 + FIX]
        breaks = np.flatnonzero(np.diff(which) != 1) + 1
        for run in np.split(which, breaks):
            a, b = int(run[0]), int(run[-1])
            first = a * hf + 8 * FIX  # a multiple of 4 frames: the a-trous grid
            x = db[first:b * hf + self.frames] / np.float32(10.0) + np.float32(2.0)
            shared = self._emb.run(None, {self._emb.get_inputs()[0].name: x[None, :, :, None]})[0]  # (96, Q)
            for i in run:  # embedding j of window i starts 4q frames after `first`
                out[i, :, FIX:] = shared[:, (int(i) - a) * hf // 4 + 2 * np.arange(self.n_out - FIX)]
