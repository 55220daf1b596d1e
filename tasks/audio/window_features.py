"""Features of consecutive overlapping windows of a stream, computed once per stretch of audio.

Each window gets the features :class:`FeatureExtractor` gives it alone (to float tolerance);
where the windows' frame grids line up, the work is shared:

- spectrogram and log-mel frames are framewise (no centre padding): a window starting
  ``hop`` samples after the last, with ``hop`` a whole number of frame hops, starts
  ``hop / frame_hop`` frames later in the chunk's frames;
- the speech frontend, see :mod:`tasks.audio.frontend_windows`.

Otherwise (another input rate than the features', or windows off the frame grid) each window
is computed on its own, as before.
"""

from __future__ import annotations

import numpy as np
import torch

from tasks.audio import frontend_windows
from tasks.audio.features import FeatureExtractor, FeatureSpec


class WindowFeatures:
    """``count`` windows of ``win`` samples, ``hop`` apart, in a chunk ``((count - 1) * hop + win,)``
    at ``rate`` -> dB features ``(count, F, T)`` as ``FeatureExtractor(spec, rate)`` gives each window."""

    def __init__(self, spec: FeatureSpec, rate: int, win: int, hop: int, threads: int = 1):
        self.spec, self.rate, self.win, self.hop = spec, rate, win, hop
        self.extractor = FeatureExtractor(spec, rate)
        self.frontend = None
        if spec.kind == "speech_embedding":
            self.shared = frontend_windows.supports(rate, win, hop)
            if self.shared:
                self.frontend = frontend_windows.WindowFrontend(win, hop, threads=threads)
        else:
            self.shared = rate == spec.sample_rate and hop % spec.hop == 0

    def __call__(self, chunk: np.ndarray, count: int) -> torch.Tensor:
        chunk = np.ascontiguousarray(chunk, dtype=np.float32)
        if self.frontend is not None:
            return torch.from_numpy(self.frontend(chunk, count))
        if not self.shared:
            return torch.stack([self.extractor(torch.from_numpy(chunk[i * self.hop:i * self.hop + self.win]))
                                for i in range(count)])
        frames = self.extractor(torch.from_numpy(chunk[:(count - 1) * self.hop + self.win]))  # (F, T_chunk)
        step, n = self.hop // self.spec.hop, self.spec.n_frames(self.win)
        return torch.stack([frames[:, i * step:i * step + n] for i in range(count)])
