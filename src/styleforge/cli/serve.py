"""`styleforge serve`: the web page and HTTP API."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from styleforge.cli.parsing import add_device_option
from styleforge.errors import StyleforgeError
from styleforge.server.auth import TOKEN_ENV


def add_serve(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="web page and HTTP API for stylizing photos with trained models",
        description="Serve every model.safetensors under --models: a page at / and an API "
        "(POST /api/stylize, GET /api/models, GET /healthz, docs at /docs). With a token "
        f"(--token-file or ${TOKEN_ENV}) every API call needs it; the page, its files, /healthz "
        "and /docs stay open. See docs/server.md.",
    )
    p.add_argument("--models", required=True, metavar="DIR", help="folder searched for models")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help="share the server: API calls then need the header `Authorization: Bearer TOKEN`, "
        f"TOKEN read once from this file (or from ${TOKEN_ENV}; not both); the page asks for it",
    )
    add_device_option(p, "the models run there")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: one per core)")
    p.add_argument("--workers", type=int, default=1, help="images stylized at once (default 1)")
    p.add_argument(
        "--queue", type=int, default=16, help="requests waiting beyond those; then 503 (default 16)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    p.add_argument(
        "--max-upload-mb", type=float, default=25.0, help="largest request body (default 25)"
    )
    p.add_argument(
        "--max-pixels", type=int, default=25_000_000, help="largest image (default 25,000,000)"
    )
    p.add_argument("--max-variants", type=int, default=8, help="variants per request (default 8)")
    p.add_argument("--cache", type=int, default=2, help="models kept loaded (default 2)")
    p.add_argument(
        "--tile", type=int, default=1024, help="tile side for large images; 0: off (default 1024)"
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from styleforge.extras import need

    for module in ("fastapi", "uvicorn", "python_multipart"):  # the [serve] extra
        need(module)
    from styleforge.device import set_threads
    from styleforge.server.app import serve
    from styleforge.server.auth import read_token
    from styleforge.server.limits import MB, Limits

    numbers = (args.workers, args.timeout, args.max_upload_mb, args.max_pixels, args.max_variants)
    if min(numbers) <= 0 or args.queue < 0:
        raise StyleforgeError("--workers, --timeout and the --max-* limits must be positive")
    token = read_token(args.token_file, os.environ)
    set_threads(args.threads)
    limits = Limits(
        max_upload_bytes=int(args.max_upload_mb * MB),
        max_pixels=args.max_pixels,
        timeout_s=args.timeout,
        workers=args.workers,
        queue=args.queue,
        max_variants=args.max_variants,
    )
    serve(
        Path(args.models),
        host=args.host,
        port=args.port,
        limits=limits,
        device=args.device,
        cache_size=args.cache,
        tile=args.tile,
        token=token,
    )
    return 0
