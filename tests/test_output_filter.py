"""The output filter: a guided filter of the generator's output led by the photo, weighed by the
last number of each style's codes and chosen per style at the end of training by the probe."""

from __future__ import annotations

import numpy as np
import torch

from conftest import PHOTO_NAMES, real_photo, tiny_config, with_statistics_transfer
from styleforge.config import TrainConfig
from styleforge.data.augment import pil_to_unit
from styleforge.models.filters import joint_guided
from styleforge.models.layers import luminance
from styleforge.models.stylenet import StyleNet
from styleforge.training import output_filter


def hatched(photo: torch.Tensor) -> torch.Tensor:
    """The photo with diagonal strokes drawn over it (what a decoder draws on flat regions)."""
    rows, cols = torch.meshgrid(
        torch.arange(photo.shape[-2]), torch.arange(photo.shape[-1]), indexing="ij"
    )
    strokes = 0.4 * ((rows + cols) % 4 < 2).float() - 0.2
    return (photo + strokes).clamp(-1, 1)


def test_the_filter_keeps_the_photos_edges_and_removes_strokes_it_lacks() -> None:
    photo = pil_to_unit(real_photo("chelsea", 128))[None]
    guide = luminance(photo)
    kept = joint_guided(photo, guide, 1, 0.02)
    assert (kept - photo).abs().mean() < 0.03  # the photo's own edges and texture stay
    drawn = hatched(photo)
    cleaned = joint_guided(drawn, guide, 1, 0.02)
    assert (cleaned - photo).abs().mean() < 0.5 * (drawn - photo).abs().mean()


def two_style_net() -> tuple[StyleNet, TrainConfig]:
    config = tiny_config()
    config.model.styles = ["ink", "paint"]
    torch.manual_seed(0)
    net = with_statistics_transfer(config).eval()  # the output filter on for "ink" only
    torch.nn.init.normal_(net.generator.head.weight, std=0.05)  # the decoder draws something
    return net, config


def test_the_codes_last_number_weighs_the_filter() -> None:
    net, _ = two_style_net()
    x = pil_to_unit(real_photo("astronaut", 64).crop((0, 0, 64, 64)))[None]
    generator = net.generator
    with torch.no_grad():
        code = net.style_codes(torch.tensor([1]), torch.Generator().manual_seed(1))
        assert code[0, -1] == 0  # "paint": off
        raw = generator(x, code)
        assert torch.equal(raw, generator.change(generator.start_from(x, code), code))
        code[0, -1] = 1.0
        filtered = generator(x, code)
        assert torch.allclose(filtered, generator.filter_output(raw, x), atol=1e-6)
        assert (filtered - raw).abs().mean() > 1e-3
        code[0, -1] = 0.5
        assert torch.allclose(generator(x, code), (raw + filtered) / 2, atol=1e-6)
        ink = net.style_codes(torch.tensor([0]), torch.Generator().manual_seed(1))
    assert ink[0, -1] == 1.0


class RoughnessProbe:
    """Stands in for the run's style probe: a style that is smooth (or rough) in every pixel."""

    def __init__(self, smooth_styles: set[int]):
        self.smooth_styles = smooth_styles

    def probabilities(self, style: int, outputs: torch.Tensor) -> np.ndarray:
        roughness = (outputs[..., 1:] - outputs[..., :-1]).abs().mean(dim=(1, 2, 3)).numpy()
        return -roughness if style in self.smooth_styles else roughness


def test_each_style_keeps_the_filter_where_its_probe_prefers_it() -> None:
    net, config = two_style_net()
    output_filter.set_weights([net], None)
    photos = torch.stack(
        [pil_to_unit(real_photo(n, 48).crop((0, 0, 48, 48))) for n in ("coffee", "rocket")]
    )
    chosen = output_filter.choose(net, RoughnessProbe(smooth_styles={1}), photos, (0, 0.5, 1))
    assert [chosen[name].weight for name in ("ink", "paint")] == [0, 1]
    paint = chosen["paint"].probabilities
    assert paint[1] > paint[0.5] > paint[0]  # filtering removes roughness step by step
    assert chosen["paint"].t_values[1] > output_filter.MARGIN
    assert chosen["ink"].t_values[1] < 0
    other = StyleNet(config.model)
    output_filter.set_weights([net, other], chosen)
    for module in (net, other):
        for offsets in (module.mapping.offsets, module.encoder.offsets):
            assert offsets.output_filter.flatten().tolist() == [0.0, 1.0]
    values = output_filter.choice_metrics(chosen)
    assert values["output_filter/paint"] == 1.0 and values["output_filter/ink"] == 0.0
    assert np.isclose(values["output_filter/paint/probability_at_0.5"], paint[0.5])


def test_a_gain_within_chance_keeps_the_filter_off() -> None:
    net, _ = two_style_net()
    output_filter.set_weights([net], None)
    photos = torch.stack([pil_to_unit(real_photo(n, 48).crop((0, 0, 48, 48))) for n in PHOTO_NAMES])

    class NoisyProbe:  # the filter wins on average, but loses on half the photos
        calls = 0

        def probabilities(self, style: int, outputs: torch.Tensor) -> np.ndarray:
            self.calls += 1  # weight 0 is scored first
            return np.zeros(4) if self.calls % 2 else np.array([0.3, -0.2, 0.3, -0.2])

    chosen = output_filter.choose(net, NoisyProbe(), photos, (0.0, 1.0))
    assert all(c.probabilities[1] > c.probabilities[0] for c in chosen.values())
    assert all(c.weight == 0 for c in chosen.values())
    assert output_filter.t_value(np.array([0.1])) == 0  # one photo: no evidence


def test_models_saved_before_the_filter_load_without_it() -> None:
    saved = TrainConfig().to_dict()
    del saved["model"]["output_filter"]
    assert TrainConfig.from_saved(saved).model.output_filter is False
    assert TrainConfig.from_dict({}).model.output_filter is True


def test_without_the_statistics_transfer_the_filter_weight_still_ends_the_code() -> None:
    config = tiny_config()
    config.model.stats_transfer = False
    net = StyleNet(config.model).eval()
    code = net.style_codes(torch.tensor([0]))
    assert code.shape[1] == config.model.style_dim + 1
    x = pil_to_unit(real_photo("coffee", 32).crop((0, 0, 32, 32)))[None]
    with torch.no_grad():
        assert net(x, code).shape == x.shape
