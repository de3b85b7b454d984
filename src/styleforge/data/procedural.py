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


def smooth(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's edge-preserving stylization: flat, watercolour-like regions, edges kept."""
    return cv2.stylization(rgb, sigma_s=60, sigma_r=0.45)


def pencil(rgb: np.ndarray) -> np.ndarray:
    """OpenCV's colour pencil sketch: pale paper, hatched strokes, faint colour."""
    _, colour = cv2.pencilSketch(rgb, sigma_s=60, sigma_r=0.07, shade_factor=0.05)
    return colour


def grade(rgb: np.ndarray) -> np.ndarray:
    """A fixed teal-and-orange colour grade: an S contrast curve, warm highlights, cool shadows.

    Channel curves applied through one 256-entry lookup table per channel, as a grading tool's
    curves panel (or a 1-D LUT file) would."""
    x = np.arange(256, dtype=np.float32) / 255.0
    s_curve = x - 0.5 * np.sin(2 * np.pi * x) / (2 * np.pi)  # slope 1.5 in the mids, 0.5 at ends
    red = np.clip(1.08 * s_curve + 0.03, 0, 1)
    green = np.clip(s_curve + 0.01, 0, 1)
    blue = np.clip(0.82 * s_curve + 0.10 * (1 - x) + 0.04, 0, 1)
    tables = [np.round(curve * 255).astype(np.uint8) for curve in (red, green, blue)]
    return np.stack([cv2.LUT(rgb[..., c], tables[c]) for c in range(3)], axis=-1)


def oil(rgb: np.ndarray) -> np.ndarray:
    """Oil-paint look: strokes smoothed along edges, then lit as a relief (impasto texture).

    The relief comes from the smoothed image's own gradients, so the texture follows the
    picture's shapes and the look is learnable from unpaired examples."""
    base = cv2.edgePreservingFilter(rgb, flags=cv2.RECURS_FILTER, sigma_s=30, sigma_r=0.35)
    base = cv2.medianBlur(base, 5)
    gray = cv2.cvtColor(base, cv2.COLOR_RGB2GRAY).astype(np.float32)
    relief = cv2.filter2D(gray, -1, np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], np.float32))
    return np.clip(base.astype(np.float32) + 0.35 * relief[..., None], 0, 255).astype(np.uint8)


STYLES = {"cartoon": cartoon, "smooth": smooth, "pencil": pencil, "grade": grade, "oil": oil}
