"""torchrun / torch.distributed: set-up and tear-down, DDP wrappers, rank-0-only I/O.

`torchrun --nproc_per_node N -m styleforge train ...` starts N processes with RANK, WORLD_SIZE,
LOCAL_RANK and the rendezvous in their environment; `setup` joins them into one process group
(NCCL on CUDA, gloo on the CPU). Without WORLD_SIZE > 1 nothing is initialised and every helper
here is the single-process identity, so the same trainer code runs both ways.

Each network is wrapped in its own DistributedDataParallel, with a small `Calls` adapter in
between so that every method the trainer uses (`forward`, the generator's `encode`) goes through
DDP's forward. Buffers are not re-broadcast at each forward (`forward_sync_buffers=False`): a
discriminator step runs several forwards (real, fake) before one backward, and overwriting
spectral-norm or batch-norm buffers in place between them would break autograd; the buffers stay
equal on every rank anyway (spectral norm's power iteration depends only on the weights, which
DDP keeps equal; batch norm under DDP is SyncBatchNorm, whose statistics are global).
"""

from __future__ import annotations

import atexit
import inspect
import logging
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from styleforge.device import pick_device
from styleforge.errors import StyleforgeError

log = logging.getLogger(__name__)

TIMEOUT = timedelta(minutes=30)  # a rank stuck this long in a collective fails instead of hanging
# no buffer broadcast before each forward (newer torch renamed the option; buffers still sync once
# at construction, which is harmless: every rank builds the same ones)
_DDP_OPTIONS = inspect.signature(DistributedDataParallel.__init__).parameters
NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in _DDP_OPTIONS
    else {"broadcast_buffers": False}
)


@dataclass(frozen=True)
class World:
    """Where this process stands: its rank among `size` processes, and its device."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, samples, logs and progress bars."""
        return self.rank == 0


def env_world_size() -> int:
    """WORLD_SIZE as torchrun sets it (1 when not launched by torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise StyleforgeError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number") from None


def is_main_process() -> bool:
    """Rank 0 (or no torchrun): what the CLI checks before writing files of its own."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return os.environ.get("RANK", "0") == "0"


def setup(device_name: str = "auto") -> World:
    """Join the torchrun process group when launched by torchrun; pick this rank's device.

    CUDA ranks use GPU LOCAL_RANK and NCCL; CPU ranks use gloo. Ranks other than 0 only log
    warnings and errors, so a run prints one set of messages."""
    if not (dist.is_available() and (dist.is_initialized() or env_world_size() > 1)):
        return World(device=pick_device(device_name))
    device = pick_device(device_name)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if device.index is None:
            if local_rank >= torch.cuda.device_count():
                raise StyleforgeError(
                    f"LOCAL_RANK {local_rank} but {torch.cuda.device_count()} GPU(s) visible: "
                    "give torchrun --nproc_per_node at most the number of GPUs"
                )
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)
        atexit.register(teardown)
    rank, size = dist.get_rank(), dist.get_world_size()
    if rank != 0:
        logging.getLogger("styleforge").setLevel(logging.WARNING)
    log.info("distributed: %d processes (%s), device %s", size, dist.get_backend(), device)
    return World(rank, size, local_rank, device)


def teardown() -> None:
    """Leave the process group (also registered to run at exit)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.enabled:
        if world.device.type == "cuda":
            dist.barrier(device_ids=[world.device.index])
        else:
            dist.barrier()


class Calls(nn.Module):
    """Routes a call of any method of `inner` through `forward`, so DDP sees every use.

    `calls(x, code)` is `inner(x, code)`; `calls(x, code, method="encode")` is
    `inner.encode(x, code)`. The parameters are `inner`'s own (no copy). With `compile`, each
    method is compiled on its own (static shapes: one graph per method, not a recompile every
    time the method or the batch's shape changes); DDP around compiled code still reduces the
    gradients, since they are accumulated outside the compiled graphs."""

    def __init__(self, inner: nn.Module, compile: bool = False):
        super().__init__()
        self.inner = inner
        self.compile = compile
        self._methods: dict[str, object] = {}

    def forward(self, *args, method: str = "forward", **kwargs):
        fn = self._methods.get(method)
        if fn is None:
            fn = getattr(self.inner, method)
            if self.compile:
                fn = torch.compile(fn, dynamic=False)
            self._methods[method] = fn
        return fn(*args, **kwargs)


def wrap(module: nn.Module | Calls, world: World, compile: bool = False) -> nn.Module:
    """`module` behind `Calls` (compiled when asked), in its own DDP when distributed."""
    wrapped: nn.Module = module if isinstance(module, Calls) else Calls(module, compile)
    if world.enabled:
        # device_ids=None: the module sits on one device and the trainer moves inputs itself
        wrapped = DistributedDataParallel(wrapped, **NO_BUFFER_SYNC)
    return wrapped


def unwrap(module: nn.Module) -> nn.Module:
    """The `Calls` inside a DDP wrapper (for calls whose gradients need no reduction)."""
    return module.module if isinstance(module, DistributedDataParallel) else module


def convert_batch_norm(modules: list[nn.Module], world: World) -> None:
    """SyncBatchNorm for distributed CUDA runs (statistics over the global batch, in place).

    Under CPU DDP there is no SyncBatchNorm: each rank would normalise by its own share's
    statistics and the ranks' running statistics would drift apart, so that is an error."""
    if not world.enabled:
        return
    has_bn = any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for mod in modules for m in mod.modules()
    )
    if not has_bn:
        return
    if world.device.type != "cuda":
        raise StyleforgeError(
            "--norm batch needs CUDA under torchrun (SyncBatchNorm); "
            "use --norm instance (the default) or none for distributed CPU training"
        )
    for module in modules:  # no root is itself a batch norm: converted in place
        nn.SyncBatchNorm.convert_sync_batchnorm(module)


def all_mean(values: dict[str, float], world: World) -> dict[str, float]:
    """Means over the ranks of per-rank scalars with the same keys on every rank."""
    if not world.enabled or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=world.device)
    dist.all_reduce(tensor)
    return {k: float(v) / world.size for k, v in zip(keys, tensor.tolist(), strict=True)}


def from_main(value: float, world: World) -> float:
    """Rank 0's value on every rank (elapsed time, so every rank stops at the same step)."""
    if not world.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=world.device)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())
