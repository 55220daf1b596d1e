"""dlib's ResNet run by PyTorch gives dlib's own descriptors (same weights, same layout)."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.errors import DataError
from tasks.faces import pretrained as P
from tasks.faces import synth
from tasks.faces.detect import DetectSettings, detect_array
from tasks.faces.dlib_weights import read_resnet


@pytest.fixture(scope="module")
def chips():
    out = []
    for i in range(8):
        rng = np.random.default_rng([11, i])
        d = detect_array(synth.render_photo(synth.make_person(11, i), synth.make_shot(rng), 200, rng),
                         DetectSettings())
        if d.crop is not None:
            out.append(d.crop)
    assert len(out) >= 5
    return np.stack(out)


def test_pytorch_port_matches_dlibs_runtime(chips):
    ours, ref = P.embed_chips(chips), P.embed_chips_dlib(chips)
    assert ours.shape == ref.shape == (len(chips), P.DIM) and ours.dtype == np.float32
    assert np.abs(ours - ref).max() < 1e-4  # float rounding only (about 1e-6 seen)
    # and the descriptors mean something: different people sit far apart, as in dlib
    d = np.linalg.norm(ours[:, None] - ours[None], axis=2)[np.triu_indices(len(ours), 1)]
    assert d.min() > 0.2


def test_a_chip_gives_the_same_bytes_whatever_it_is_embedded_with(chips):
    all_at_once = P.embed_chips(chips)
    assert P.embed_chips(chips[::-1])[::-1].tobytes() == all_at_once.tobytes()
    for i in range(len(chips)):  # alone: the case a convolution kernel chosen by batch size broke
        assert P.embed_chips(chips[i:i + 1]).tobytes() == all_at_once[i].tobytes()
    assert P.embed_chips(chips[1:4]).tobytes() == all_at_once[1:4].tobytes()


def test_a_truncated_weights_file_fails_naming_it(tmp_path):
    bad = tmp_path / "resnet.dat"
    bad.write_bytes(P.model_file(P.ENCODER_FILE).read_bytes()[:3_000_000])
    with pytest.raises(DataError, match=r"resnet.dat: not dlib's face-recognition ResNet"):
        read_resnet(bad)
