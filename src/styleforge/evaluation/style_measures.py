"""How much style an output carries, measured apart from how much content it keeps.

A target that the untouched input nearly wins (SSIM to the truth above the identity's) rewards
doing nothing, so these measures put the identity at 0 and the truth at 1:

- the **probe share**: a linear classifier on frozen features, fitted on photos against style
  images, and the share of outputs it takes for the style (untouched photos about 0, real style
  images about 1); its own held-out accuracy says whether the two sets can be told apart at all;
- the **gap closed** between the identity and the truth, for a distance (FD) or a similarity
  (SSIM to the truth).

Content kept (luminance SSIM to the input) is measured in `unpaired.content_ssim`.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from styleforge.errors import StyleforgeError

TRUSTED_PROBE = 0.8  # below this held-out accuracy a probe's share is reported, not counted
PROBE_C = 0.1  # L2 strength of the logistic regression: a few hundred rows of 1280 features


class StyleProbe:
    """Logistic regression (scikit-learn, standardised features) telling photos from style."""

    def __init__(self, photos: np.ndarray, styles: np.ndarray):
        if len(photos) < 2 or len(styles) < 2:
            raise StyleforgeError("the style probe needs at least 2 photos and 2 style images")
        x = np.concatenate([photos, styles])
        y = np.concatenate([np.zeros(len(photos)), np.ones(len(styles))])
        self.model = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=PROBE_C, max_iter=5000, class_weight="balanced"),
        )
        self.model.fit(x, y)

    def share(self, features: np.ndarray) -> float:
        """The share of `features` (rows) the probe takes for the style."""
        return float(self.model.predict(features).mean())

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """The probability the probe gives each row of `features` of being the style: finer
        than the share where two sets of outputs are compared."""
        return self.model.predict_proba(features)[:, 1]

    def accuracy(self, photos: np.ndarray, styles: np.ndarray) -> float:
        """Balanced accuracy on held-out photos and style images (0.5 is chance)."""
        return 0.5 * ((1.0 - self.share(photos)) + self.share(styles))


def gap_closed(identity: float, model: float, truth: float) -> float:
    """The share of the way from the identity's score to the truth's that `model` went: 0 for
    the untouched input, 1 for the truth, negative when the model moved away. Works for
    distances (truth below identity) and similarities (truth above) alike."""
    span = truth - identity
    if abs(span) < 1e-12:
        return 0.0
    return (model - identity) / span


def relative_drop(identity: float, model: float) -> float:
    """(identity - model) / identity: how far a distance fell, where there is no truth."""
    return (identity - model) / identity if identity else 0.0
