"""The style measures: a probe that tells photos from style images, and gaps closed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.data.demo import photo
from styleforge.data.procedural import pencil
from styleforge.errors import StyleforgeError
from styleforge.evaluation.style_measures import StyleProbe, gap_closed, relative_drop
from styleforge.evaluation.style_task import crop_features
from styleforge.models.pretrained import EfficientNetLite0

FIT_PHOTOS = ["astronaut", "rocket", "motorcycle_left"]
FIT_STYLE = ["china", "flower", "grace_hopper"]  # sketched: other scenes than the photos'
TEST_PHOTOS = ["chelsea", "coffee", "motorcycle_right"]


def test_the_probe_tells_held_out_sketches_from_held_out_photos() -> None:
    torch.set_num_threads(1)
    net = EfficientNetLite0()

    def sketched(names):
        return [Image.fromarray(pencil(np.asarray(photo(n)))) for n in names]

    probe = StyleProbe(
        crop_features(net, [photo(n) for n in FIT_PHOTOS]),
        crop_features(net, sketched(FIT_STYLE)),
    )
    photos = crop_features(net, [photo(n) for n in TEST_PHOTOS])
    sketches = crop_features(net, sketched(TEST_PHOTOS))  # the same scenes, sketched
    assert probe.share(photos) < 0.2
    assert probe.share(sketches) >= 0.6
    assert probe.accuracy(photos, sketches) > 0.8
    # a half-way blend of photo and sketch is taken for a sketch less often than the sketch
    blends = [
        Image.blend(photo(n), s, 0.5)
        for n, s in zip(TEST_PHOTOS, sketched(TEST_PHOTOS), strict=True)
    ]
    assert probe.share(crop_features(net, blends)) < probe.share(sketches)


def test_the_probe_needs_two_images_a_side() -> None:
    with pytest.raises(StyleforgeError, match="at least 2"):
        StyleProbe(np.zeros((1, 4)), np.ones((5, 4)))


def test_gap_closed_puts_the_identity_at_0_and_the_truth_at_1() -> None:
    # a distance (the truth is nearer the style set than the identity) ...
    assert gap_closed(400.0, 400.0, 300.0) == 0.0
    assert gap_closed(400.0, 300.0, 300.0) == 1.0
    assert gap_closed(400.0, 375.0, 300.0) == pytest.approx(0.25)
    assert gap_closed(400.0, 420.0, 300.0) == pytest.approx(-0.2)  # moved away
    # ... and a similarity (SSIM to the truth: the truth's own is 1)
    assert gap_closed(0.6, 0.64, 1.0) == pytest.approx(0.1)
    assert gap_closed(0.5, 0.7, 0.5) == 0.0  # no span: nothing to close
    assert relative_drop(400.0, 360.0) == pytest.approx(0.1)
