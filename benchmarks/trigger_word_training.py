"""Benchmark: training throughput of the trigger-word presets (clips per second on the CPU).

Run: ``python -m benchmarks.trigger_word_training [--steps N]``

Times Adam steps of the model on random features of each preset's shape, in the same run:
the lecture's (101 x 5511 spectrogram -> 1375 steps, Conv1D 196 + GRU 128) and the CPU preset
of params.yaml (40 x 499 log-mel -> 122 steps, Conv1D 128 + GRU 96), both in batches of 32, and
the CPU preset in batches of 64 and in the batches of 128 that params-full.yaml trains with;
and the default head on the pretrained frontend (96 x 125 speech embeddings -> 125 steps, Conv1D
k1 128 + GRU 96) in batches of 32 (params.yaml) and 128 (params-full.yaml). 2 threads
(``--threads``).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from models.losses import sequence_loss  # noqa: E402
from models.trigger_word import TriggerWordConfig, TriggerWordModel  # noqa: E402

CPU = TriggerWordConfig(n_freq=40, conv_filters=128, gru_units=96)
FRONTEND = TriggerWordConfig(n_freq=96, conv_filters=128, conv_kernel=1, conv_stride=1, gru_units=96)
# name -> (model config, feature frames per clip, batch size)
PRESETS = {
    "lecture (params-lecture.yaml)": (TriggerWordConfig(n_freq=101, conv_filters=196, gru_units=128), 5511, 32),
    "cpu (params.yaml)": (CPU, 499, 32),
    "cpu, batch 64": (CPU, 499, 64),
    "cpu, batch 128 (params-full.yaml)": (CPU, 499, 128),
    "frontend (params.yaml)": (FRONTEND, 125, 32),
    "frontend, batch 128 (params-full.yaml)": (FRONTEND, 125, 128),
}


def clips_per_second(config: TriggerWordConfig, frames: int, steps: int, batch: int = 32) -> float:
    torch.manual_seed(0)
    model = TriggerWordModel(config).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, config.n_freq, frames)
    y = (torch.rand(batch, config.output_steps(frames)) < 0.05).float()
    for i in range(steps + 1):
        if i == 1:
            t = time.perf_counter()  # the first step warms up allocations
        loss = sequence_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rates = {name: clips_per_second(c, f, args.steps, batch) for name, (c, f, batch) in PRESETS.items()}
    for name, r in rates.items():
        print(f"{name:34s} {r:8.1f} clips/s")
    lecture, cpu, cpu64, full, frontend, frontend128 = rates.values()
    print(f"cpu preset / lecture preset: {cpu / lecture:.1f}x")
    print(f"batch 64 / batch 32 (cpu preset): {cpu64 / cpu:.2f}x")
    print(f"batch 128 / batch 32 (cpu preset): {full / cpu:.2f}x")
    print(f"batch 128 / batch 32 (frontend): {frontend128 / frontend:.2f}x")


if __name__ == "__main__":
    main()
