"""One tree of dataclasses for everything before training; it is saved with every checkpoint.

`TrainConfig` is what `styleforge train` builds from its options and what a model file carries in
its metadata, so a model can be loaded (and a run resumed) without repeating any flag.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from styleforge.atomic import atomic_write_bytes
from styleforge.device import DEVICE_HELP, check_device_name
from styleforge.errors import StyleforgeError
from styleforge.options import check_declared, coerce, fields_with_types, option
from styleforge.saved_configs import renamed_hint, upgrade_saved

GAN_LOSSES = ("bce", "lsgan", "hinge")
DIFFAUG_PARTS = ("colour", "translation", "cutout")
CONTENT_LOSSES = ("nce", "cycle", "identity", "none")
NORMS = ("instance", "batch", "none")
DISC_INPUTS = ("rgb", "luma", "split")
PRECISIONS = ("auto", "bf16", "fp32")
# the statistics transfer's curves: knots of the texture gain, knots of each colour curve
ENERGY_KNOTS = 16
COLOUR_KNOTS = 5
STATISTICS_PARAMETERS = ENERGY_KNOTS + 3 * COLOUR_KNOTS  # a style's offsets in its codes


PRESETS: dict[str, dict[str, Any]] = {
    # fast on a CPU: about 2.3 G MACs at 256x256
    "lite": dict(ngf=16, n_down=2, n_blocks=4, ndf=32, d_layers=3),
    "base": dict(ngf=32, n_down=2, n_blocks=6, ndf=64, d_layers=3),
    # the CycleGAN ResNet-9 generator and 70x70 PatchGAN, for comparison
    "resnet9": dict(ngf=64, n_down=2, n_blocks=9, ndf=64, d_layers=3),
}


@dataclass
class ModelConfig:
    """Shape of the generator and discriminator; presets fill it, options override it."""

    preset: str = option(
        "lite",
        "network size: lite (fast on a CPU), base, resnet9 (CycleGAN's); custom: --ngf etc.",
        choices=(*PRESETS, "custom"),
    )
    ngf: int = option(
        16, "generator base channels (overrides the preset)", minimum=1, advanced=True
    )
    n_down: int = option(
        2, "generator downsampling steps, 1 to 5 (overrides the preset)", minimum=1, advanced=True
    )
    n_blocks: int = option(
        4, "generator residual blocks (overrides the preset)", minimum=1, advanced=True
    )
    max_channels: int = option(256, "channel cap of the generator's deepest layers", cli=False)
    ndf: int = option(
        32, "discriminator base channels (overrides the preset)", minimum=1, advanced=True
    )
    d_layers: int = option(
        3, "discriminator stride-2 layers (3: 70x70 patches)", minimum=1, advanced=True
    )
    norm: str = option("instance", "normalisation layers", choices=NORMS)
    dropout: float = option(0.0, "dropout in the residual blocks, in [0, 1)", metavar="P")
    spectral_norm: bool = option(
        False, "spectral normalisation in the discriminator instead of its norm layers"
    )
    disc_input: str = option(
        "split",
        "what the discriminator judges: split (sharp luminance, blurred chroma), rgb, luma"
        " (texture and shading, not palette)",
        choices=DISC_INPUTS,
        advanced=True,
    )
    disc_features: bool = option(
        True,
        "the discriminator also judges frozen EfficientNet-Lite0 feature maps (strides 4-16),"
        " as Projected GANs do: what makes a style show within minutes",
        advanced=True,
    )
    skip: bool = option(
        True, "the generator adds a learnt change to its input (starts as the identity)"
    )
    local_affine: int = option(
        0,
        "per-region affine colour transforms on PIXELS-square cells (needs --skip; 0: off)",
        minimum=0,
        metavar="PIXELS",
        advanced=True,
    )
    detail_radius: int = option(
        4,
        "per-region texture gain: keep, flatten or sharpen what a guided filter of this radius"
        " removes, outlines kept (0: off; off with --no-skip)",
        minimum=0,
        metavar="PIXELS",
        advanced=True,
    )
    stats_transfer: bool = option(
        True,
        "start each style from texture-gain and colour curves fitted on the folders, not the"
        " untouched input",
        advanced=True,
    )
    output_filter: bool = option(
        True,
        "let each style choose, at the end of training, an edge-aware filter of its output led"
        " by the photo (kept where the style probe says it looks more like the style)",
        advanced=True,
    )
    latent_dim: int = option(16, "size of the noise vector z", minimum=1, advanced=True)
    style_dim: int = option(64, "size of the style code", minimum=1, advanced=True)
    styles: list[str] = option(
        help="style names, taken from the style folders", factory=lambda: ["style"], cli=False
    )

    @property
    def num_styles(self) -> int:
        return len(self.styles)

    @property
    def code_dim(self) -> int:
        """Length of a style code: the learnt part, then the statistics transfer's offsets, then
        the output filter's weight."""
        fixed = (STATISTICS_PARAMETERS if self.stats_transfer else 0) + int(self.output_filter)
        return self.style_dim + fixed

    @property
    def size_multiple(self) -> int:
        """Input sides must be a multiple of this (the encoder halves them n_down times)."""
        return 2**self.n_down


@dataclass
class DataConfig:
    """Where the images are and how they are augmented."""

    content: str | None = option(None, "folder of content photos", metavar="DIR")
    style: str | None = option(
        None, "folder of style images (subfolders: one style each)", metavar="DIR"
    )
    data: str | None = option(None, "CycleGAN-layout root: trainA/ trainB/ (testA/)", metavar="DIR")
    load_size: int = option(143, "resize the shorter side to this", minimum=1)
    crop_size: int = option(128, "random crop side for training", minimum=1)
    flip: bool = option(True, "random horizontal flips")
    rotate: float = option(0.0, "random rotation up to DEG degrees", metavar="DEG", minimum=0)
    colour_jitter: float = option(
        0.0, "random brightness/contrast/saturation up to +-S", metavar="S", minimum=0
    )
    balance: bool = option(True, "draw styles evenly whatever their image counts")
    max_pixels: int = option(
        100_000_000, "larger images are refused (decompression bombs)", cli=False
    )


@dataclass
class OptimConfig:
    """Losses and optimisers."""

    gan_loss: str = option(
        "bce", "GAN objective (bce: non-saturating cross-entropy)", choices=GAN_LOSSES
    )
    content_loss: str = option(
        "none",
        "a content term beside the structure term: nce (PatchNCE, about 2x the step time),"
        " cycle (CycleGAN), identity (L1 to the input)",
        choices=CONTENT_LOSSES,
    )
    lambda_gan: float = option(1.0, "weight of the GAN loss", minimum=0)
    lambda_feat: float = option(
        1.0,
        "weight of the structure term: EfficientNet-Lite0 features of output vs input keep"
        " shapes and layout, leave colour and texture free",
        minimum=0,
    )
    lambda_nce: float = option(1.0, "weight of PatchNCE", minimum=0, advanced=True)
    nce_idt: bool = option(True, "PatchNCE's identity term on style images", advanced=True)
    nce_layers: int = option(4, "generator layers PatchNCE compares", cli=False)
    nce_patches: int = option(256, "patches per layer PatchNCE compares", cli=False)
    nce_temperature: float = option(0.07, "PatchNCE's softmax temperature", cli=False)
    lambda_cycle: float = option(10.0, "weight of the cycle loss", minimum=0, advanced=True)
    lambda_identity: float = option(
        0.5, "CycleGAN's identity weight, times --lambda-cycle", minimum=0, advanced=True
    )
    lambda_pixel: float = option(
        1.0, "weight of L1(output, input) for --content-loss identity", minimum=0, advanced=True
    )
    r1_gamma: float = option(0.0, "R1 penalty weight on real images (0: off)", minimum=0)
    lambda_sty: float = option(
        1.0, "style reconstruction: the encoder recovers the code (0: off)", minimum=0
    )
    lambda_ds: float = option(
        0.0, "diversity: different noise, different outputs; decays to 0 (0: off)", minimum=0
    )
    ref_every: int = option(
        2,
        "every N-th step takes style codes from reference images (0: never)",
        minimum=0,
        metavar="N",
        advanced=True,
    )
    diffaug: str = option(
        "auto",
        "differentiable augmentation of what D sees; auto: on below 500 images a style",
        choices=("auto", "on", "off"),
    )
    diffaug_policy: str = option(
        ",".join(DIFFAUG_PARTS),
        f"what DiffAugment does, a comma list of {', '.join(DIFFAUG_PARTS)}",
        metavar="PARTS",
        advanced=True,
    )
    lr: float = option(2e-4, "Adam learning rate", minimum=0)
    lr_d: float | None = option(None, "discriminator learning rate", minimum=0, default_text="--lr")
    beta1: float = option(0.5, "Adam beta1", minimum=0)
    beta2: float = option(0.999, "Adam beta2", minimum=0)
    decay_start: float = option(
        0.5, "decay the lr linearly to 0 after this fraction of training", metavar="FRAC"
    )
    ema_beta: float = option(0.999, "EMA decay of the shipped weights", minimum=0)

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


@dataclass
class TrainConfig:
    """Everything a training run needs; saved with every checkpoint and every model file."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    steps: int | None = option(2000, "training steps", minimum=1)
    time_budget: float | None = option(
        None, "stop after MIN minutes of training (with --steps: whichever first)", metavar="MIN"
    )
    batch_size: int = option(4, "images per step (per process under torchrun)", minimum=1)
    seed: int = option(0, "random seed; the same seed gives the same model")
    device: str = option("auto", DEVICE_HELP, metavar="DEVICE")
    precision: str = option(
        "auto", "auto: bf16 autocast on CUDA, fp32 on the CPU", choices=PRECISIONS
    )
    compile: bool = option(False, "torch.compile the networks (CUDA; minutes to build)")
    threads: int = option(0, "CPU threads (0: one per core)", minimum=0)
    log_every: int = option(10, "steps between metric log lines", minimum=1, advanced=True)
    sample_every: int = option(200, "steps between sample grids", minimum=1, advanced=True)
    save_every: int = option(500, "steps between checkpoints", minimum=1, advanced=True)
    style_probe: bool = option(
        True,
        "log the style probe's share of each sample grid's outputs (probe/share); the probe "
        "is fitted when the run starts",
        advanced=True,
    )
    max_bad_steps: int = option(
        5,
        "after N non-finite steps in a row, roll back to the checkpoint at half the lr",
        minimum=1,
        metavar="N",
        advanced=True,
    )

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
        """A config saved by a run or model file, read as it was trained (`saved_configs`)."""
        return cls.from_dict(upgrade_saved(raw, resuming))

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
        for section in (m, d, o, self):
            check_declared(section, flag_of)
        o.diffaug_parts  # noqa: B018 (the property raises on a bad policy)
        if m.n_down > 5:
            raise StyleforgeError(f"--n-down must be between 1 and 5, got {m.n_down}")
        if not 0.0 <= m.dropout < 1.0:
            raise StyleforgeError(f"--dropout must be in [0, 1), got {m.dropout}")
        if self.steps is None and self.time_budget is None:
            raise StyleforgeError("give --steps or --time-budget")
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
        check_device_name(self.device)
        if not m.styles or len(set(m.styles)) != len(m.styles):
            raise StyleforgeError("style names must be unique and at least one")


def flag_of(name: str) -> str:
    """The command-line flag of a config field: `crop_size` -> `--crop-size`."""
    return "--" + name.replace("_", "-")


def apply_preset(model: ModelConfig, preset: str) -> None:
    """Fill a ModelConfig's shape from a named preset."""
    if preset not in PRESETS:
        raise StyleforgeError(f"--preset must be one of {', '.join(PRESETS)}; got {preset!r}")
    model.preset = preset
    for key, value in PRESETS[preset].items():
        setattr(model, key, value)


def _build(cls: type, raw: dict[str, Any], where: str) -> Any:
    """`cls` from a mapping read from a file: unknown keys and values of the wrong type are
    refused in one line naming the key; sections nest."""
    if not isinstance(raw, dict):
        raise StyleforgeError(f"config section {where or 'root'} must be a mapping")
    types = {f.name: annotation for f, annotation in fields_with_types(cls)}
    unknown = sorted(set(raw) - set(types))
    if unknown:
        hint = renamed_hint(where.rstrip("."), unknown[0])
        raise StyleforgeError(f"unknown config key {where}{unknown[0]}{hint}")
    values = {}
    for name, value in raw.items():
        kind = types[name]
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, value, f"{where}{name}.")
        else:
            values[name] = coerce(value, kind, f"{where}{name}")
    return cls(**values)
