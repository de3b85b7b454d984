"""The output filter's choice on a quality bench's models: off, on, and what the run chooses.

    .venv/bin/python benchmarks/output_filter_choice.py runs/quality cartoon,pencil [--recipe NAME]

Reads a `styleforge bench --quality --out DIR` run (DIR/data and DIR/runs/STYLE/RECIPE) and
scores each style's model as the bench does (probe share, FD gap closed, SSIM gap closed,
content kept) with the output filter off, on, and as the run's own choice (outputs saved
under DIR/output_filter/STYLE/): the training probe
fitted on the run's training images, read on its sample photos, as the trainer does at the
end of a run (`styleforge.training.output_filter`). A model saved before the filter existed
gets the filter's weight added, so the choice can be measured on old runs too; a model that
already made it shows whether this script agrees. The sixteenth round of docs/research-log.md
read its figures here. Run from the folder the bench ran in (the run's paths are relative).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from styleforge.data.datasets import TrainingData
from styleforge.evaluation.style_task import StyleTask, TaskScorer
from styleforge.inference.stylizer import Stylizer
from styleforge.modelfile import load_model_file
from styleforge.models.pretrained import EfficientNetLite0
from styleforge.models.stylenet import StyleNet
from styleforge.training import output_filter
from styleforge.training.probe import FIT_IMAGES, TrainingProbe


def with_filter(path: Path) -> Stylizer:
    """The model file's network with the output filter's weight in its codes (off)."""
    tensors, config, _ = load_model_file(path)
    shipped = config.model.output_filter
    config = dataclasses.replace(
        config, model=dataclasses.replace(config.model, output_filter=True)
    )
    net = StyleNet(config.model)
    net.load_state_dict(tensors, strict=shipped)
    return Stylizer(net, config, torch.device("cpu"))


def run_choice(
    stylizer: Stylizer, weights: tuple[float, ...]
) -> dict[str, output_filter.FilterChoice]:
    """What the trainer chooses at the end of this model's run, among `weights`."""
    config = stylizer.config
    data = TrainingData.load(config.data)
    probe = TrainingProbe(data, torch.device("cpu"))
    photos = data.sample_inputs(FIT_IMAGES, config.data.load_size, config.model.size_multiple)
    output_filter.set_weights([stylizer.net], None)
    return output_filter.choose(stylizer.net, probe, photos, weights)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="a `bench --quality --out` folder")
    parser.add_argument("styles", help="comma-separated tasks, e.g. cartoon,pencil,painting")
    parser.add_argument("--recipe", default="default", help="the recipe's name in that run")
    parser.add_argument(
        "--weights", default="0,0.5,1", help="filter weights to score (default 0,0.5,1)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    weights = tuple(float(w) for w in args.weights.split(","))
    enl0 = EfficientNetLite0()
    results = {}
    for style in args.styles.split(","):
        data = args.root / "data"
        truth = data / style / "truth"
        task = StyleTask(
            style,
            data / "photos/content",
            data / style / "style",
            data / "photos/test",
            truth if truth.is_dir() else None,
        )
        scorer = TaskScorer(task, enl0)
        path = args.root / "runs" / style / args.recipe / "model.safetensors"
        saved = load_model_file(path)[0].get("mapping.offsets.output_filter")
        stylizer = with_filter(path)
        name0 = stylizer.config.model.styles[0]
        choice = run_choice(stylizer, weights)[name0]
        rows = {"identity": scorer.inputs}
        for weight in weights:
            output_filter.set_weights(
                [stylizer.net], {name0: dataclasses.replace(choice, weight=weight)}
            )
            row = f"weight {weight:g}"
            rows[row] = {n: stylizer(img) for n, img in scorer.inputs.items()}
            folder = args.root / "output_filter" / style / row.replace(" ", "_")
            folder.mkdir(parents=True, exist_ok=True)
            for n, img in rows[row].items():
                img.save(folder / f"{n}.png")
        print(f"{style}: probe share / FD gap closed (or drop) / SSIM gap closed / content")
        shown = ", ".join(
            f"{p:.3f} at {w:g} (t {choice.t_values[w]:+.1f})"
            for w, p in choice.probabilities.items()
        )
        print(
            f"  the run's choice: weight {choice.weight:g} (training probe {shown})"
            + ("" if saved is None else f"; the model file has {saved.item():g}")
        )
        results[style] = {"choice": dataclasses.asdict(choice)}
        for name, outputs in rows.items():
            s = scorer.score(outputs)
            results[style][name] = dataclasses.asdict(s)
            gap = s.fd_gap_closed if s.fd_gap_closed is not None else s.fd_drop
            ssim = "" if s.ssim_gap_closed is None else f"{s.ssim_gap_closed:+.3f}"
            print(
                f"  {name:12s} {s.probe_share:.2f} / {gap:.2f} / {ssim} / {s.content_ssim:.3f}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
