"""Load on `styleforge serve`: N requests from C concurrent clients on loopback.

    .venv/bin/python benchmarks/server_load.py                      # 200 requests, 8 clients
    .venv/bin/python benchmarks/server_load.py --model runs/toon/model.safetensors --size 512

Starts the server in a subprocess on a free loopback port (by default with a tiny model trained
for two steps here, so the numbers are the server's overhead plus a small network), sends
256x256 PNG photos from client threads, and prints errors (should be 0), latency percentiles,
throughput and the server's peak RSS (the kernel's high-water mark, VmHWM; Linux only).
The run is bounded: no request starts after --max-seconds and each has a client timeout.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import skimage.data
from PIL import Image

from styleforge.config import TrainConfig
from styleforge.training.trainer import Trainer


def tiny_model(folder: Path) -> Path:
    """A two-step run of a very small network on two scikit-image photos."""
    content, style = folder / "data" / "content", folder / "data" / "style"
    for path, name in ((content, "astronaut"), (style, "coffee")):
        path.mkdir(parents=True)
        Image.fromarray(getattr(skimage.data, name)()).resize((64, 64)).save(path / "a.png")
    config = TrainConfig(steps=2, batch_size=2, seed=0)
    m = config.model
    m.preset, m.ngf, m.n_down, m.n_blocks, m.ndf, m.d_layers = "custom", 8, 2, 2, 8, 2
    m.latent_dim, m.style_dim = 4, 8
    config.data.content, config.data.style = str(content), str(style)
    config.data.load_size, config.data.crop_size = 40, 32
    config.optim.nce_patches = 32
    config.threads = 1
    return Trainer(config, folder / "models" / "tiny").run().model_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def start_server(models: Path, port: int, args: argparse.Namespace) -> subprocess.Popen:
    command = [sys.executable, "-m", "styleforge", "-q", "serve", "--models", str(models),
               "--port", str(port), "--device", "cpu", "--threads", str(args.threads),
               "--workers", str(args.workers), "--queue", str(args.queue)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start within 60 s")


def photo_png(size: int) -> bytes:
    img = Image.fromarray(skimage.data.astronaut()).resize((size, size), Image.BICUBIC)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def load(url: str, model: str, photo: bytes, args: argparse.Namespace) -> dict:
    """Send the requests from `args.clients` threads; latencies of successes, errors."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(args.requests))
    lock = threading.Lock()
    stop_at = time.monotonic() + args.max_seconds

    def client() -> None:
        with httpx.Client(timeout=args.request_timeout) as http:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                try:
                    response = http.post(
                        f"{url}/api/stylize",
                        files={"image": ("photo.png", photo, "image/png")},
                        data={"model": model, "seed": str(i)},
                    )
                    ok = response.status_code == 200
                    problem = f"{response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"{type(exc).__name__}: {exc}"
                with lock:
                    if ok:
                        latencies.append(time.perf_counter() - start)
                    else:
                        errors.append(problem)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {"latencies": latencies, "errors": errors, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model file (default: train a tiny one)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--size", type=int, default=256, help="photo side in pixels")
    parser.add_argument("--workers", type=int, default=1, help="server --workers")
    parser.add_argument("--queue", type=int, default=16, help="server --queue")
    parser.add_argument("--threads", type=int, default=0, help="server --threads (0: all)")
    parser.add_argument("--max-seconds", type=float, default=300, help="no new request after")
    parser.add_argument("--request-timeout", type=float, default=60)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="styleforge-load-"))
    try:
        models = work / "models"
        if args.model:
            (models / "model").mkdir(parents=True)
            shutil.copy(args.model, models / "model" / "model.safetensors")
        else:
            tiny_model(work)
        name = next(models.rglob("model.safetensors")).parent.relative_to(models).as_posix()
        port = free_port()
        server = start_server(models, port, args)
        try:
            idle_kib = rss_kib(server.pid, "VmRSS")
            result = load(f"http://127.0.0.1:{port}", name, photo_png(args.size), args)
            peak_kib = rss_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lat = np.array(result["latencies"]) * 1000
    done = len(lat)
    summary = {
        "requests": args.requests,
        "clients": args.clients,
        "size": args.size,
        "ok": done,
        "errors": len(result["errors"]),
        "not_sent": args.requests - done - len(result["errors"]),
        "p50_ms": float(np.percentile(lat, 50)) if done else None,
        "p95_ms": float(np.percentile(lat, 95)) if done else None,
        "max_ms": float(lat.max()) if done else None,
        "throughput_rps": done / result["wall_s"],
        "wall_s": result["wall_s"],
        "server_rss_idle_mib": idle_kib / 1024,
        "server_rss_peak_mib": peak_kib / 1024,
    }
    print(f"{args.requests} requests, {args.clients} clients, {args.size}x{args.size} PNG")
    print(f"errors: {summary['errors']}  (not sent before the time bound: {summary['not_sent']})")
    if done:
        print(f"latency p50 {summary['p50_ms']:.0f} ms  p95 {summary['p95_ms']:.0f} ms  "
              f"max {summary['max_ms']:.0f} ms")  # fmt: skip
    print(f"throughput {summary['throughput_rps']:.1f} requests/s over {result['wall_s']:.1f} s")
    print(f"server RSS: {summary['server_rss_idle_mib']:.0f} MiB idle, "
          f"{summary['server_rss_peak_mib']:.0f} MiB peak")  # fmt: skip
    for problem in result["errors"][:5]:
        print("error:", problem)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    if summary["errors"] or summary["not_sent"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
