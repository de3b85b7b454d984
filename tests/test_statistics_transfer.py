"""The statistics transfer: curves fitted on unpaired folders that the generator starts from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config
from styleforge.config import STATISTICS_PARAMETERS, TrainConfig
from styleforge.data.augment import pil_to_uint8, pil_to_unit, unit_to_pil
from styleforge.data.datasets import ImageSet, TrainingData
from styleforge.data.demo import photo
from styleforge.data.procedural import smooth
from styleforge.evaluation.metrics import PairedScores
from styleforge.inference.stylizer import Stylizer
from styleforge.models.statistics_transfer import StatisticsTransfer, through_knots
from styleforge.training.statistics_fit import pooled_statistics, style_offsets
from styleforge.training.trainer import Trainer

CONTENT = ("rocket", "motorcycle_left", "grace_hopper", "coffee")
STYLE = ("astronaut", "flower", "motorcycle_right", "china")


def fitted(content: ImageSet, style: ImageSet) -> tuple[StatisticsTransfer, torch.Tensor]:
    """A transfer with the content's knots and the style's offsets, as training fits them."""
    content_statistics = pooled_statistics(content)
    transfer = StatisticsTransfer()
    transfer.energy_in.copy_(content_statistics[0])
    transfer.colour_in.copy_(content_statistics[1])
    return transfer, style_offsets(content_statistics, pooled_statistics(style))[None]


def test_curve_passes_through_its_knots_and_extends_its_end_segments() -> None:
    knots_in = torch.tensor([[0.0, 0.2, 0.5, 1.0]])
    knots_out = torch.tensor([[[0.1, 0.1, 0.7, 0.8]]])
    x = torch.linspace(-0.5, 1.5, 41).view(1, 1, 1, -1)
    got = through_knots(x, knots_in, knots_out).flatten().numpy()
    inside = (x.flatten() >= 0) & (x.flatten() <= 1)
    expected = np.interp(x.flatten().numpy(), knots_in[0].numpy(), knots_out[0, 0].numpy())
    assert np.allclose(got[inside.numpy()], expected[inside.numpy()], atol=1e-6)
    assert got[0] == pytest.approx(0.1)  # flat first segment, extended
    assert got[-1] == pytest.approx(0.8 + 0.5 * 0.2)  # last slope 0.2, extended by 0.5


def test_zero_offsets_are_the_identity() -> None:
    x = pil_to_unit(photo("chelsea"))[None]
    with torch.no_grad():
        out = StatisticsTransfer()(x, torch.zeros(1, STATISTICS_PARAMETERS))
    assert (out - x).abs().max() < 1e-5


def test_fitted_on_unpaired_folders_it_moves_a_held_out_photo_towards_the_style() -> None:
    """Style images are OpenCV's edge-preserving stylization of *other* photos: the fitted gain
    flattens fine texture (low energy) and keeps edges, and the held-out photo, transferred,
    is closer to its own stylization than the untouched photo is."""
    content = ImageSet("content", images=[pil_to_uint8(photo(n)) for n in CONTENT])
    style_images = [Image.fromarray(smooth(np.asarray(photo(n)))) for n in STYLE]
    style = ImageSet("style", images=[pil_to_uint8(img) for img in style_images])
    transfer, offsets = fitted(content, style)
    gain = (transfer.energy_in + offsets[0, : len(transfer.energy_in)]) / transfer.energy_in
    assert gain[:4].max() < 0.6  # the finest texture is flattened
    held_out = photo("chelsea")
    truth = Image.fromarray(smooth(np.asarray(held_out)))
    with torch.no_grad():
        out = unit_to_pil(transfer(pil_to_unit(held_out)[None], offsets)[0])
    before = PairedScores.of(held_out, truth).ssim
    assert PairedScores.of(out, truth).ssim > before + 0.005


def test_training_fits_the_transfer_and_the_model_file_carries_it(
    tmp_path: Path, photo_dirs
) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=1)
    config.model.stats_transfer = True  # the default (the tiny unit-test recipe has it off)
    result = Trainer(config, tmp_path / "run").run()
    stylizer = Stylizer.load(result.model_path)
    net = stylizer.net
    data = TrainingData.load(config.data)
    energy_in, colour_in = pooled_statistics(data.content)
    assert torch.allclose(net.generator.statistics.energy_in, energy_in)
    assert torch.allclose(net.generator.statistics.colour_in, colour_in)
    energy_out, _ = pooled_statistics(data.styles[0])
    table = net.mapping.offsets.table
    assert torch.allclose(table[0, : len(energy_in)], energy_out - energy_in)
    assert torch.equal(table, net.encoder.offsets.table)
    code = stylizer.style_code(seed=3)
    learnt = config.model.style_dim
    assert code.shape[1] == learnt + STATISTICS_PARAMETERS + 1  # then the output filter's weight
    assert torch.equal(code[0, learnt:-1], table[0])  # the codes carry them


def test_model_files_from_before_the_transfer_load_without_it() -> None:
    saved = TrainConfig().to_dict()
    del saved["model"]["stats_transfer"]
    assert TrainConfig.from_saved(saved).model.stats_transfer is False
    assert TrainConfig.from_dict({}).model.stats_transfer is True
