"""Procedural styles with known ground truth: any photo in, its stylized version out.

They make paired test sets (photo, exact target) for unpaired training, so a model's output can
be scored against the truth and against the untouched input (the identity baseline).
"""

from __future__ import annotations

import cv2
import numpy as np


def cartoon(rgb: np.ndarray) -> np.ndarray:
    """Flat colour regions with dark ink outlines: bilateral smoothing, posterise, edges."""
    smooth = rgb
    for _ in range(2):
        smooth = cv2.bilateralFilter(smooth, d=9, sigmaColor=60, sigmaSpace=7)
    levels = 6
    step = 256 // levels
    flat = (smooth // step) * step + step // 2
    gray = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 5)
    edges = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, blockSize=9, C=4
    )
    ink = (edges.astype(np.float32) / 255.0)[..., None]
    return np.clip(flat.astype(np.float32) * ink, 0, 255).astype(np.uint8)


STYLES = {"cartoon": cartoon}
