"""Less flicker in stylized video: blend each frame with the previous output, motion-compensated.

A per-frame stylizer reacts to small changes (noise, compression, lighting) with larger ones, so
its output flickers. Each output frame is blended with the previous output warped along the
optical flow of the *input* (OpenCV's Farneback); where the warp does not explain the input
(occlusions, cuts, new objects) the blend weight falls to zero, so nothing smears.
"""

from __future__ import annotations

import cv2
import numpy as np


class FlowStabilizer:
    """Feed frames in order; each call returns the stabilised output frame (uint8 RGB)."""

    def __init__(self, strength: float = 0.7, tolerance: float = 12.0):
        self.strength = strength  # weight of the warped previous output where the flow is right
        self.tolerance = tolerance  # input warp error (0..255) at which that weight has fallen by e
        self.prev_in: np.ndarray | None = None
        self.prev_gray: np.ndarray | None = None
        self.prev_out: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        out = stylized
        if self.prev_out is not None and self.prev_out.shape == stylized.shape:
            flow = cv2.calcOpticalFlowFarneback(
                gray, self.prev_gray, None, 0.5, 3, 15, 3, 5, 1.2, 0
            )
            height, width = gray.shape
            grid_x, grid_y = np.meshgrid(np.arange(width), np.arange(height))
            map_x = (grid_x + flow[..., 0]).astype(np.float32)
            map_y = (grid_y + flow[..., 1]).astype(np.float32)
            warp = lambda img: cv2.remap(  # noqa: E731
                img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            ).astype(np.float32)
            error = np.abs(frame.astype(np.float32) - warp(self.prev_in)).mean(-1, keepdims=True)
            weight = self.strength * np.exp(-((error / self.tolerance) ** 2))
            blended = weight * warp(self.prev_out) + (1 - weight) * stylized.astype(np.float32)
            out = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        self.prev_in, self.prev_gray, self.prev_out = frame, gray, out
        return out


class ChangeMeter:
    """Mean absolute frame-to-frame change of the output relative to the input's.

    1 means the output changes as much as the input does; flicker shows as values well above
    the same model's value on a still scene."""

    def __init__(self) -> None:
        self.prev: tuple[np.ndarray, np.ndarray] | None = None
        self.change_in = 0.0
        self.change_out = 0.0

    def add(self, frame: np.ndarray, output: np.ndarray) -> None:
        frame, output = frame.astype(np.float32), output.astype(np.float32)
        if self.prev is not None:
            self.change_in += float(np.abs(frame - self.prev[0]).mean())
            self.change_out += float(np.abs(output - self.prev[1]).mean())
        self.prev = (frame, output)

    @property
    def ratio(self) -> float:
        return self.change_out / self.change_in if self.change_in > 0 else float("nan")
