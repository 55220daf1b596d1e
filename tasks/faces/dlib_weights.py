"""Read the weights of dlib's face-recognition ResNet from its ``.dat`` file into PyTorch.

dlib serialises a network from the input layer outwards, each layer as its name (a string),
then its parameters: integers in dlib's variable-length form (a control byte giving the
number of little-endian bytes and the sign), tensors as a version, four dimensions and raw
little-endian float32 values, scalars of float type as an integer mantissa and exponent.
Only the layers this one network uses are read (``con_``, ``affine_``, ``avg_pool_``,
``fc_``); their order gives the structure (a block ends where the next pair of convolutions
starts; an ``avg_pool_`` after a block's pair marks it as downsampling). Anything else in the
file, or a shape that does not fit, fails with a message naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from models.dlib_resnet import ConvSpec, DlibResNet
from tasks.errors import DataError

_NAME = re.compile(rb"\x01([\x03-\x20])(con_[0-9]|affine_|avg_pool_[0-9]|fc_[0-9]|max_pool_[0-9]|input_rgb_image_sized)")


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def int(self) -> int:
        ctrl = self.data[self.pos]
        n = ctrl & 0x0F
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -value if ctrl & 0x80 else value

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ValueError(f"tensor format version {version} (expected 2)")
        shape = [self.int() for _ in range(4)]
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, "<f4", count, self.pos).astype(np.float32)
        self.pos += 4 * count
        return values


def _layers(data: bytes) -> list[tuple[str, int]]:
    """(name, offset just after the name) of each layer record, in file order."""
    found = []
    for m in _NAME.finditer(data):
        if m.group(1)[0] == len(m.group(2)):
            found.append((m.group(2).decode(), m.end()))
    return found


def read_resnet(path: Path | str) -> DlibResNet:
    """The network in dlib's ``dlib_face_recognition_resnet_model_v1.dat`` at ``path``, in eval mode."""
    path = Path(path)
    data = path.read_bytes()
    try:
        convs, downs, fc = [], set(), None
        for name, pos in _layers(data):
            r = _Reader(data, pos)
            if name.startswith("con_"):
                params = r.tensor()
                filters, kh, kw, sy, sx, py, px = (r.int() for _ in range(7))
                if sy != sx or py != px or kh != kw:
                    raise ValueError(f"convolution {len(convs)}: unequal strides or paddings")
                n_w = params.size - filters
                weight = torch.from_numpy(params[:n_w].copy()).view(filters, -1, kh, kw)
                convs.append([weight, torch.from_numpy(params[n_w:].copy()), sy, py])
            elif name == "affine_":
                params = torch.from_numpy(r.tensor().copy())
                half = params.numel() // 2
                if not convs or len(convs[-1]) != 4 or half != convs[-1][0].shape[0]:
                    raise ValueError("an affine layer that follows no convolution of its width")
                convs[-1] += [params[:half], params[half:]]
            elif name.startswith("avg_pool_"):
                if r.int() != 0:  # a 2x2 pool on a block's shortcut (the global pool stores 0 x 0)
                    downs.add(len(convs))
            elif name.startswith("fc_"):
                outputs, inputs = r.int(), r.int()
                fc = torch.from_numpy(r.tensor().copy()).view(inputs, outputs)
        specs = [ConvSpec(w, b, s, p, g, bt) for w, b, s, p, g, bt in convs]
        if fc is None or len(specs) % 2 != 1:
            raise ValueError(f"{len(specs)} convolutions and {'a' if fc is not None else 'no'} final linear layer")
        blocks = [(specs[i], specs[i + 1], i + 2 in downs) for i in range(1, len(specs), 2)]
        net = DlibResNet(specs[0], blocks, fc)
    except (ValueError, IndexError, RuntimeError) as exc:
        raise DataError(f"{path}: not dlib's face-recognition ResNet as expected ({exc})") from None
    return net.eval()
