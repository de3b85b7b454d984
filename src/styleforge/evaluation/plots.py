"""PNG charts for evaluation reports (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path


def plot_metric_bars(values: dict[str, float], metric: str, out_path: Path) -> Path:
    """One bar per model (the first is the untouched input, drawn grey) for one metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(values)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(names) + 1), 3.2))
    colours = ["#999999"] + ["#3b6ea8"] * (len(names) - 1)
    bars = ax.bar(range(len(names)), [values[n] for n in names], color=colours)
    ax.bar_label(bars, fmt="%.4g", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel(metric)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path
