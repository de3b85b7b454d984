"""One tree of dataclasses for everything before training; it is saved with every checkpoint.

`TrainConfig` is what `styleforge train` builds from its options and what a model file carries in
its metadata, so a model can be loaded (and a run resumed) without repeating any flag.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from styleforge.atomic import atomic_write_bytes
from styleforge.errors import StyleforgeError

log = logging.getLogger(__name__)

GAN_LOSSES = ("bce", "lsgan", "hinge")
DIFFAUG_PARTS = ("color", "translation", "cutout")
CONTENT_LOSSES = ("nce", "cycle", "identity", "none")
NORMS = ("instance", "batch", "none")
DISC_INPUTS = ("rgb", "luma", "split")
PRECISIONS = ("auto", "bf16", "fp32")
# the statistics transfer's curves: knots of the texture gain, knots of each colour curve
ENERGY_KNOTS = 16
COLOUR_KNOTS = 5
STATISTICS_PARAMETERS = ENERGY_KNOTS + 3 * COLOUR_KNOTS  # a style's offsets in its codes


@dataclass
class ModelConfig:
    """Shape of the generator and discriminator; presets fill it, options override it."""

    preset: str = "lite"
    ngf: int = 16  # channels of the generator's first layer
    n_down: int = 2  # stride-2 convolutions in the encoder (and resize+conv in the decoder)
    n_blocks: int = 4  # style-modulated residual blocks at the bottleneck
    max_channels: int = 256
    ndf: int = 32  # channels of the discriminator's first layer
    d_layers: int = 3  # stride-2 layers of the PatchGAN (3 gives the 70x70 receptive field)
    norm: str = "instance"
    dropout: float = 0.0
    spectral_norm: bool = False
    disc_input: str = "split"  # rgb; luma: D judges texture and edges, not palette; split: both,
    # with chroma blurred (a palette counts, a colour fringe along an edge does not)
    disc_features: bool = True  # D also judges frozen EfficientNet-Lite0 feature maps (strides
    # 4-16, as Projected GANs do): what makes a style show within minutes
    skip: bool = True  # output = input + learned change (in tanh space): starts as the identity
    local_affine: int = 0  # cell side (pixels) of per-region affine colour transforms; 0: off
    # (rounded to whole bottleneck pixels: at least size_multiple)
    detail_radius: int = 4  # guided-filter radius (pixels) splitting texture from base for a
    # per-region texture gain on the local_affine grid (16 px cells without it); 0: off, and off
    # without skip (it scales the input's texture). With the feature discriminator it flattens
    # what a cartoon or a painting flattens (research log)
    stats_transfer: bool = True  # start from each style's texture-gain and chroma curves,
    # fitted on the training folders (models/statistics_transfer.py), not the untouched input
    latent_dim: int = 16
    style_dim: int = 64
    styles: list[str] = field(default_factory=lambda: ["style"])

    @property
    def num_styles(self) -> int:
        return len(self.styles)

    @property
    def code_dim(self) -> int:
        """Length of a style code: the learnt part, then the statistics transfer's offsets."""
        return self.style_dim + (STATISTICS_PARAMETERS if self.stats_transfer else 0)

    @property
    def size_multiple(self) -> int:
        """Input sides must be a multiple of this (the encoder halves them n_down times)."""
        return 2**self.n_down


PRESETS: dict[str, dict[str, Any]] = {
    # fast on a CPU: about 2.3 G MACs at 256x256
    "lite": dict(ngf=16, n_down=2, n_blocks=4, ndf=32, d_layers=3),
    "base": dict(ngf=32, n_down=2, n_blocks=6, ndf=64, d_layers=3),
    # the CycleGAN ResNet-9 generator and 70x70 PatchGAN, for comparison
    "resnet9": dict(ngf=64, n_down=2, n_blocks=9, ndf=64, d_layers=3),
}


@dataclass
class DataConfig:
    """Where the images are and how they are augmented."""

    content: str | None = None
    style: str | None = None
    data: str | None = None  # a CycleGAN root: trainA/ trainB/ (testA/ testB/)
    load_size: int = 143
    crop_size: int = 128
    flip: bool = True
    rotate: float = 0.0  # maximum rotation in degrees
    color_jitter: float = 0.0  # strength of brightness/contrast/saturation jitter
    balance: bool = True  # draw styles evenly, whatever the folder sizes
    max_pixels: int = 100_000_000


@dataclass
class OptimConfig:
    """Losses and optimisers."""

    gan_loss: str = "bce"
    content_loss: str = "none"  # beside the structure term (lambda_feat), which keeps content
    lambda_gan: float = 1.0
    lambda_nce: float = 1.0
    nce_idt: bool = True  # CUT's identity NCE on style images
    nce_layers: int = 4
    nce_patches: int = 256
    nce_temperature: float = 0.07
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # CycleGAN's identity weight, times lambda_cycle
    lambda_pixel: float = 1.0  # weight of L1(G(x), x) for content_loss=identity
    lambda_feat: float = 1.0  # weight of the structure term: channel-normalised
    # EfficientNet-Lite0 features of output vs input (shapes kept, colour and texture free)
    r1_gamma: float = 0.0
    lambda_sty: float = 1.0  # style reconstruction: the encoder recovers the code from the output
    lambda_ds: float = 0.0  # diversity: different noise, different outputs (decays to 0)
    ref_every: int = 2  # every n-th step takes style codes from reference images (0: never)
    diffaug: str = "auto"  # differentiable augmentation for D: auto (small sets), on, off
    diffaug_policy: str = ",".join(DIFFAUG_PARTS)  # which augmentations DiffAugment applies
    lr: float = 2e-4
    lr_d: float | None = None  # defaults to lr
    beta1: float = 0.5
    beta2: float = 0.999
    decay_start: float = 0.5  # fraction of training after which the lr decays linearly to 0
    ema_beta: float = 0.999

    @property
    def diffaug_parts(self) -> frozenset[str]:
        """`diffaug_policy` as a set of DIFFAUG_PARTS; a bad one raises StyleforgeError."""
        parts = frozenset(p.strip() for p in self.diffaug_policy.split(",") if p.strip())
        if not parts or not parts <= set(DIFFAUG_PARTS):
            raise StyleforgeError(
                f"--diffaug-policy {self.diffaug_policy!r}: choose one or more of"
                f" {', '.join(DIFFAUG_PARTS)}"
            )
        return parts


# What a saved config meant before these keys existed (their defaults have changed since):
# a model or run saved then goes on as it was trained.
BEFORE_KEY_EXISTED = {
    "model": {"disc_input": "rgb", "stats_transfer": False, "detail_radius": 0},
}

ANY = object()  # a removed key whose value never mattered once the others are off

# Options deleted after they lost (docs/research-log.md has each one's figures), with the value
# at which each changed nothing. A saved config holding that value loads with a warning. Another
# value cannot be reproduced: for the generator's shape that is an error; for a training-only
# term the model still loads (its weights are what they are) but its run cannot be resumed.
REMOVED_KEYS: dict[str, dict[str, Any]] = {
    "model": {"disc_scales": 1, "tone_path": False, "affine_bins": 1, "ink": False},
    "optim": {
        "lambda_color": 0.0,
        "lambda_color_end": None,
        "color_pool": ANY,
        "luma_pool": ANY,
        "color_anchor": ANY,
        "lambda_stats": 0.0,
        "lambda_patch": 0.0,
        "progressive": "",
    },
}
TRAINING_ONLY_SECTIONS = ("optim",)


@dataclass
class TrainConfig:
    """Everything a training run needs; saved with every checkpoint and every model file."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    steps: int | None = 2000
    time_budget: float | None = None  # minutes; when set, training stops at whichever comes first
    batch_size: int = 4
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on the CPU; or bf16, fp32
    compile: bool = False  # torch.compile the networks (CUDA; slow to build)
    threads: int = 0  # 0: one per core
    log_every: int = 10
    sample_every: int = 200
    save_every: int = 500
    max_bad_steps: int = 5  # non-finite steps in a row before rolling back to the checkpoint

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        """Build from a dict, rejecting unknown keys with a clear message."""
        return _build(cls, raw, "")

    @classmethod
    def from_saved(cls, raw: dict[str, Any], resuming: bool = False) -> TrainConfig:
        """A config saved by a run or model file: keys it predates take the behaviour it had,
        keys removed since are dropped (see `drop_removed_keys`)."""
        filled = {
            key: dict(value) if isinstance(value, dict) else value for key, value in raw.items()
        }
        for section, keys in BEFORE_KEY_EXISTED.items():
            if isinstance(filled.get(section), dict):
                for key, value in keys.items():
                    filled[section].setdefault(key, value)
        drop_removed_keys(filled, resuming)
        return cls.from_dict(filled)

    def save_yaml(self, path: Path) -> None:
        atomic_write_bytes(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False).encode())

    @classmethod
    def load_yaml(cls, path: Path, saved: bool = False, resuming: bool = False) -> TrainConfig:
        try:
            raw = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise StyleforgeError(f"cannot read config {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise StyleforgeError(f"config {path} is not a mapping")
        return cls.from_saved(raw, resuming) if saved else cls.from_dict(raw)

    def validate(self) -> None:
        """Check option values; raise StyleforgeError naming the bad one."""
        m, d, o = self.model, self.data, self.optim
        _choice("--preset", m.preset, (*PRESETS, "custom"))
        _choice("--norm", m.norm, NORMS)
        _choice("--disc-input", m.disc_input, DISC_INPUTS)
        _choice("--gan-loss", o.gan_loss, GAN_LOSSES)
        _choice("--content-loss", o.content_loss, CONTENT_LOSSES)
        _choice("--diffaug", o.diffaug, ("auto", "on", "off"))
        o.diffaug_parts  # noqa: B018 (the property raises on a bad policy)
        _choice("--precision", self.precision, PRECISIONS)
        if min(o.lambda_sty, o.lambda_ds, o.ref_every) < 0:
            raise StyleforgeError("--lambda-sty, --lambda-ds and --ref-every must be >= 0")
        if min(o.lambda_feat, o.r1_gamma) < 0:
            raise StyleforgeError("--lambda-feat and --r1-gamma must be >= 0")
        _positive("--ngf", m.ngf)
        _positive("--ndf", m.ndf)
        _positive("--latent-dim", m.latent_dim)
        _positive("--style-dim", m.style_dim)
        _positive("--batch-size", self.batch_size)
        _positive("--crop-size", d.crop_size)
        _positive("--load-size", d.load_size)
        _positive("--log-every", self.log_every)
        _positive("--sample-every", self.sample_every)
        _positive("--save-every", self.save_every)
        _positive("--max-bad-steps", self.max_bad_steps)
        if m.n_down < 1 or m.n_down > 5:
            raise StyleforgeError(f"--n-down must be between 1 and 5, got {m.n_down}")
        if m.n_blocks < 1:
            raise StyleforgeError(f"--n-blocks must be at least 1, got {m.n_blocks}")
        if not 0.0 <= m.dropout < 1.0:
            raise StyleforgeError(f"--dropout must be in [0, 1), got {m.dropout}")
        if self.steps is None and self.time_budget is None:
            raise StyleforgeError("give --steps or --time-budget")
        if self.steps is not None and self.steps < 1:
            raise StyleforgeError(f"--steps must be at least 1, got {self.steps}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise StyleforgeError(f"--time-budget must be positive, got {self.time_budget}")
        if d.crop_size > d.load_size:
            raise StyleforgeError(
                f"--crop-size {d.crop_size} is larger than --load-size {d.load_size}"
            )
        if d.crop_size < 2 ** (m.d_layers + 2):
            raise StyleforgeError(
                f"--crop-size {d.crop_size} is too small for a {m.d_layers}-layer PatchGAN"
                f" (at least {2 ** (m.d_layers + 2)})"
            )
        if m.local_affine < 0:
            raise StyleforgeError(f"--local-affine must be >= 0 (0: off), got {m.local_affine}")
        if m.detail_radius < 0:
            raise StyleforgeError(f"--detail-radius must be >= 0 (0: off), got {m.detail_radius}")
        if m.local_affine and not m.skip:
            raise StyleforgeError(
                "--local-affine transforms the input: it needs --skip (or --local-affine 0)"
            )
        if d.crop_size % m.size_multiple:
            raise StyleforgeError(
                f"--crop-size must be a multiple of {m.size_multiple}, got {d.crop_size}"
            )
        if o.lr <= 0 or (o.lr_d is not None and o.lr_d <= 0):
            raise StyleforgeError("learning rates must be positive")
        if not 0.0 <= o.ema_beta < 1.0:
            raise StyleforgeError(f"--ema-beta must be in [0, 1), got {o.ema_beta}")
        if not 0.0 <= o.decay_start <= 1.0:
            raise StyleforgeError(f"--decay-start must be in [0, 1], got {o.decay_start}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise StyleforgeError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if not m.styles or len(set(m.styles)) != len(m.styles):
            raise StyleforgeError("style names must be unique and at least one")


def drop_removed_keys(saved: dict[str, Any], resuming: bool) -> None:
    """Remove REMOVED_KEYS from a saved config in place: a warning for each that changed
    nothing, StyleforgeError for one that shaped the generator (or any, when `resuming`)."""
    for section, keys in REMOVED_KEYS.items():
        values = saved.get(section)
        if not isinstance(values, dict):
            continue
        for key, inert in keys.items():
            if key not in values:
                continue
            value = values.pop(key)
            if inert is ANY or value == inert:
                log.warning("%s.%s is no longer an option; ignored (it was off)", section, key)
            elif resuming or section not in TRAINING_ONLY_SECTIONS:
                what = "run cannot go on" if resuming else "model cannot be built"
                raise StyleforgeError(
                    f"{section}.{key} = {value!r} was removed from styleforge (see"
                    f" docs/research-log.md); this {what} as it was trained"
                )
            else:
                log.warning(
                    "%s.%s = %r is no longer an option; the model loads (it only shaped training)",
                    section,
                    key,
                    value,
                )


def apply_preset(model: ModelConfig, preset: str) -> None:
    """Fill a ModelConfig's shape from a named preset."""
    _choice("--preset", preset, tuple(PRESETS))
    model.preset = preset
    for key, value in PRESETS[preset].items():
        setattr(model, key, value)


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise StyleforgeError(f"{option} must be one of {', '.join(allowed)}; got {value!r}")


def _positive(option: str, value: int) -> None:
    if value <= 0:
        raise StyleforgeError(f"{option} must be positive, got {value}")


def _build(cls: type, raw: dict[str, Any], where: str) -> Any:
    if not isinstance(raw, dict):
        raise StyleforgeError(f"config section {where or 'root'} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise StyleforgeError(f"unknown config key {where}{unknown[0]}")
    values = {}
    for name, value in raw.items():
        sub = _NESTED.get((cls, name))
        values[name] = _build(sub, value, f"{where}{name}.") if sub else value
    return cls(**values)


_NESTED = {
    (TrainConfig, "model"): ModelConfig,
    (TrainConfig, "data"): DataConfig,
    (TrainConfig, "optim"): OptimConfig,
}
