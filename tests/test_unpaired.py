"""Unpaired content scores: kept structure told from lost."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import real_photo
from styleforge.evaluation.unpaired import content_ssim
from styleforge.models.pretrained import EfficientNetLite0


def test_content_scores_tell_kept_structure_from_lost(enl0: EfficientNetLite0) -> None:
    photo = np.asarray(real_photo("chelsea", 128))
    graded = np.clip(photo * np.array([1.1, 0.9, 0.8]), 0, 255).astype(np.uint8)
    other = np.asarray(real_photo("coffee", 128))[: photo.shape[0], : photo.shape[1]]
    assert content_ssim(photo, photo) == pytest.approx(1.0)
    assert content_ssim(photo, graded) > 0.9 > 0.3 > content_ssim(photo, other)
    assert enl0.content_distance(photo, photo) == pytest.approx(0.0, abs=1e-6)
    assert enl0.content_distance(photo, graded) < enl0.content_distance(photo, other)
