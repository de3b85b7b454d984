#!/usr/bin/env bash
# GPU check: on a CUDA machine, run the test suite with CUDA visible, then print training it/s
# and inference images/s for each preset at 256^2 and 512^2, in bf16 and fp32.
#
#   bash benchmarks/gpu_check.sh                 # from the repository root
#   PYTHON=.venv/bin/python GPU_CHECK_TESTS=0 bash benchmarks/gpu_check.sh   # timings only
#
# Settings (environment): PYTHON (default .venv/bin/python, else python3), GPU_CHECK_TESTS
# (1: run pytest first, default), GPU_CHECK_PRESETS (lite,base,resnet9), GPU_CHECK_SIZES
# (256,512), GPU_CHECK_BATCH (training batch, 4), GPU_CHECK_IMAGES (images per inference
# call, 8), GPU_CHECK_REPEATS (timed runs per case, 10). Exit status: pytest's, else 0.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "error: no CUDA device visible to $PYTHON (torch $("$PYTHON" -c 'import torch; print(torch.__version__)'))" >&2
    exit 2
fi
"$PYTHON" - <<'EOF'
import torch
p = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s): "
      f"{p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 {torch.cuda.is_bf16_supported()}")
EOF

status=0
if [ "${GPU_CHECK_TESTS:-1}" = "1" ]; then
    echo "== test suite, CUDA visible (device auto = cuda: bf16 autocast, channels-last)"
    "$PYTHON" -m pytest -q -x --durations=10
    status=$?
    echo "== pytest exit status: $status"
fi

echo "== speed (median of timed runs after warm-up; CUDA synchronised)"
GPU_CHECK_PRESETS="${GPU_CHECK_PRESETS:-lite,base,resnet9}" \
GPU_CHECK_SIZES="${GPU_CHECK_SIZES:-256,512}" \
GPU_CHECK_BATCH="${GPU_CHECK_BATCH:-4}" \
GPU_CHECK_IMAGES="${GPU_CHECK_IMAGES:-8}" \
GPU_CHECK_REPEATS="${GPU_CHECK_REPEATS:-10}" \
"$PYTHON" - <<'EOF'
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from styleforge.bench.training import bench_data
from styleforge.config import TrainConfig, apply_preset
from styleforge.inference.stylizer import Stylizer
from styleforge.models.stylenet import StyleNet
from styleforge.training.seeding import seed_step
from styleforge.training.trainer import Trainer

presets = os.environ["GPU_CHECK_PRESETS"].split(",")
sizes = [int(s) for s in os.environ["GPU_CHECK_SIZES"].split(",")]
batch = int(os.environ["GPU_CHECK_BATCH"])
images = int(os.environ["GPU_CHECK_IMAGES"])
repeats = int(os.environ["GPU_CHECK_REPEATS"])
device = torch.device("cuda")


def median_seconds(fn, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train_its(preset: str, size: int, precision: str, data) -> float:
    config = TrainConfig(batch_size=batch, device="cuda", precision=precision)
    apply_preset(config.model, preset)
    config.data.crop_size, config.data.load_size = size, size + size // 8
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp), data=data)

        def step() -> None:
            trainer.train_step(seed_step(config.seed, trainer.step))
            trainer.step += 1

        return 1.0 / median_seconds(step)


def infer_ips(preset: str, size: int, precision: str) -> float:
    config = TrainConfig()
    apply_preset(config.model, preset)
    torch.manual_seed(0)
    stylizer = Stylizer(StyleNet(config.model), config, device, precision, channels_last=True)
    code = stylizer.style_code()
    x = torch.rand(images, 3, size, size) * 2 - 1
    with torch.inference_mode():
        return images / median_seconds(lambda: stylizer.stylize_tensor(x, code))


print(f"training: batch {batch}, content loss nce (the default), one D + one G update per it")
print(f"inference: {images} images per call, host -> GPU -> host included")
print(f"| preset | size | precision | train it/s | train images/s | inference images/s |")
print(f"| --- | --- | --- | --- | --- | --- |")
for size in sizes:
    data = bench_data(size + size // 8)
    for preset in presets:
        for precision in ("bf16", "fp32"):
            try:
                its = train_its(preset, size, precision, data)
                ips = infer_ips(preset, size, precision)
                row = f"{its:.2f} | {its * batch:.1f} | {ips:.1f}"
            except torch.cuda.OutOfMemoryError:
                row = "out of memory | - | -"
            torch.cuda.empty_cache()
            print(f"| {preset} | {size}² | {precision} | {row} |", flush=True)
EOF
exit $status
