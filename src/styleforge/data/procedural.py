"""Procedural styles with known ground truth: any photo in, its stylized version out.

They make paired test sets (photo, exact target) for unpaired training, so a model's output can
be scored against the truth and against the untouched input (the identity baseline).
"""

from __future__ import annotations

import cv2
import numpy as np


def cartoon(rgb: np.ndarray) -> np.ndarray:
    """Flat colour regions with dark ink outlines: bilateral smoothing, posterise, edges.

    Only luminance is posterised (6 levels, in YCrCb): per-channel RGB posterisation would add
    rainbow fringes along every gradient, which no cartoonist draws. The outlines are traced on
    the smoothed image, so they follow shapes rather than texture, as a cartoonist's would."""
    smooth = rgb
    for _ in range(2):
        smooth = cv2.bilateralFilter(smooth, d=9, sigmaColor=60, sigmaSpace=7)
    levels = 6
    step = 256 // levels
    ycc = cv2.cvtColor(smooth, cv2.COLOR_RGB2YCrCb).astype(np.int32)
    ycc[..., 0] = np.minimum((ycc[..., 0] // step) * step + step // 2, 255)
    flat = cv2.cvtColor(ycc.astype(np.uint8), cv2.COLOR_YCrCb2RGB)
    gray = cv2.medianBlur(cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY), 5)
    edges = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, blockSize=9, C=6
    )
    ink = (edges.astype(np.float32) / 255.0)[..., None]
    return np.clip(flat.astype(np.float32) * ink, 0, 255).astype(np.uint8)


STYLES = {"cartoon": cartoon}
