"""The HTTP layer: a FastAPI app serving one static page and a small JSON/multipart API.

    GET  /              the page (static HTML/CSS/JS, no build step)
    GET  /api/models    models found under --models, their styles, the server's limits
    POST /api/stylize   multipart: image (+ reference), model, style, seed, variants, strength
    GET  /healthz       liveness and queue load
    GET  /docs          OpenAPI docs

Every 4xx/5xx body is JSON: {"status": 415, "error": "unsupported_type", "message": "..."}.
With a token (`auth.py`) every other path needs `Authorization: Bearer <token>`: the page, its
files, /healthz and the docs hold no data and stay open, and the page asks for the token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from styleforge import __version__
from styleforge.errors import (
    ImageLoadError,
    ImageTooLargeError,
    ModelFileError,
    NotAnImageError,
    StyleforgeError,
)
from styleforge.server.asgi import Receive, Scope, Send, error_response
from styleforge.server.auth import BearerTokenMiddleware, check_token
from styleforge.server.limits import (
    MB,
    Deadline,
    Limits,
    RequestTimeoutError,
    ServerBusyError,
    WorkerPool,
)
from styleforge.server.models import ModelRegistry, UnknownModelError
from styleforge.server.render import (
    OUTPUT_FORMATS,
    UPLOAD_FORMATS,
    StylizeParams,
    UnknownStyleError,
    render,
)

log = logging.getLogger(__name__)

# exception -> (HTTP status, error code); the nearest class in the exception's MRO wins
ERRORS: dict[type[Exception], tuple[int, str]] = {
    UnknownModelError: (404, "unknown_model"),
    UnknownStyleError: (422, "unknown_style"),
    NotAnImageError: (415, "unsupported_type"),
    ImageTooLargeError: (413, "too_many_pixels"),
    ImageLoadError: (400, "bad_image"),
    ModelFileError: (500, "model_error"),
    StyleforgeError: (422, "invalid_request"),
    ServerBusyError: (503, "busy"),
    RequestTimeoutError: (504, "timeout"),
}
RETRY_AFTER_S = 5
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@dataclass
class ServerState:
    """What the routes share: the models, the worker pool and the limits."""

    registry: ModelRegistry
    pool: WorkerPool
    limits: Limits
    static: dict[str, tuple[bytes, str]]


def create_app(
    models: Path,
    limits: Limits | None = None,
    device: str = "auto",
    cache_size: int = 2,
    tile: int = 1024,
    token: str | None = None,
) -> FastAPI:
    """The app for the models under `models`; tests drive it directly with httpx.

    `token`: None serves everyone; a string asks every request off the public paths for it."""
    limits = limits or Limits()
    state = ServerState(
        ModelRegistry(Path(models), device, cache_size, tile),
        WorkerPool(limits.workers, limits.queue),
        limits,
        _static_files(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.pool.shutdown()

    app = FastAPI(
        title="styleforge",
        version=__version__,
        description="Stylize photos with models trained by styleforge.",
        lifespan=lifespan,
    )
    app.state.styleforge = state
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_upload_bytes)
    if token is not None:  # added last, so it runs first: no upload is read without the token
        app.add_middleware(BearerTokenMiddleware, token=check_token(token, "the token"))
    for cls in ERRORS:
        app.add_exception_handler(cls, _known_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    _add_routes(app, state)
    return app


def _add_routes(app: FastAPI, state: ServerState) -> None:
    limits = state.limits

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return _static(state, "index.html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        return _static(state, name)

    @app.get("/healthz", summary="Liveness and load")
    async def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "models": len(state.registry.known()),
            "device": state.registry.device,
            "admitted": state.pool.admitted,
            "capacity": state.pool.capacity,
        }

    @app.get("/api/models", summary="Models under --models and the server's limits")
    async def list_models() -> dict[str, Any]:
        loaded = set(state.registry.cached_names())
        models = [
            {"name": e.name, "styles": list(e.styles), "loaded": e.name in loaded}
            for e in await run_in_threadpool(state.registry.refresh)  # walks the folder
        ]
        return {"models": models, "limits": asdict(limits), "formats": list(UPLOAD_FORMATS)}

    @app.post(
        "/api/stylize",
        summary="Stylize one photo",
        response_class=Response,
        responses={
            200: {
                "content": {"image/png": {}, "image/jpeg": {}},
                "description": "the result, at the photo's pixel size (variants: a grid)",
            },
            **_error_docs(),
        },
    )
    async def stylize(
        image: Annotated[
            UploadFile, File(description="the photo: PNG, JPEG, WebP, BMP, GIF or TIFF")
        ],
        *,
        model: Annotated[
            str | None, Form(description="a name from /api/models; optional with one model")
        ] = None,
        style: Annotated[str | None, Form(description="default: the model's first")] = None,
        seed: Annotated[int, Form(ge=0, le=2**53, description="noise seed")] = 0,
        variants: Annotated[int, Form(ge=1, description="results from seeds seed..")] = 1,
        strength: Annotated[float, Form(ge=0, le=1, description="0: original, 1: full")] = 1.0,
        truncation: Annotated[float, Form(ge=0, le=2, description="1: as drawn")] = 1.0,
        reference: Annotated[
            UploadFile | None, File(description="take the style from this image instead")
        ] = None,
        format: Annotated[Literal["png", "jpeg"], Form(description="result format")] = "png",
    ) -> Response:
        if variants > limits.max_variants:
            raise StyleforgeError(f"variants must be at most {limits.max_variants}")
        entry = state.registry.entry(model)
        params = StylizeParams(style, seed, variants, strength, truncation, format)
        params.check(entry, reference is not None)
        if state.pool.full:  # refuse before the uploads (spooled to disk) come into memory
            raise ServerBusyError
        photo = await image.read()
        ref = await reference.read() if reference is not None else None

        def job(deadline: Deadline) -> bytes:
            loaded = state.registry.load(entry)
            return render(
                loaded,
                params,
                photo,
                reference=ref,
                max_pixels=limits.max_pixels,
                deadline=deadline,
            )

        start = time.perf_counter()
        body = await state.pool.run(job, limits.timeout_s)
        headers = {
            "X-Styleforge-Model": quote(entry.name),
            "X-Styleforge-Style": quote(params.style or entry.styles[0]),
            "X-Styleforge-Seed": str(seed),
            "X-Styleforge-Seconds": f"{time.perf_counter() - start:.3f}",
        }
        return Response(body, media_type=OUTPUT_FORMATS[format][1], headers=headers)


def _error_docs() -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses, each listing its `error` codes."""
    codes: dict[int, list[str]] = {401: ["unauthorized"], 413: ["too_large"]}
    for status, code in ERRORS.values():
        codes.setdefault(status, []).append(code)
    return {
        status: {"description": "JSON {status, error, message}; error: " + ", ".join(names)}
        for status, names in sorted(codes.items())
    }


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: requests never name a file path."""
    folder = resources.files("styleforge.server") / "static"
    return {name: ((folder / name).read_bytes(), media) for name, media in STATIC.items()}


def _static(state: ServerState, name: str) -> Response:
    if name not in state.static:
        raise StarletteHTTPException(404, f"no such file: {name}")
    body, media = state.static[name]
    return Response(body, media_type=media, headers=PAGE_HEADERS)


# ---------------------------------------------------------------------------- errors as JSON
async def _known_error(request: Request, exc: Exception) -> JSONResponse:
    status, code = next(ERRORS[c] for c in type(exc).__mro__ if c in ERRORS)
    message = str(exc)
    headers = None
    if isinstance(exc, NotAnImageError):
        message = f"{exc.path}: not a {', '.join(UPLOAD_FORMATS)} image (read from its content)"
    elif isinstance(exc, ModelFileError):
        log.error("model file error: %s", exc)
        message = "the model file could not be loaded; the server's log has the details"
    elif isinstance(exc, ServerBusyError):
        message = "the server is busy: every worker is in use and the queue is full; retry soon"
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return error_response(status, code, message, headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = []
    for err in exc.errors():
        field = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
        parts.append(f"{field}: {err.get('msg', 'invalid')}" if field else err.get("msg", ""))
    return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    phrase = HTTPStatus(exc.status_code).phrase
    message = exc.detail if isinstance(exc.detail, str) else phrase
    if exc.status_code == 404 and message == phrase:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    return error_response(exc.status_code, code, message, getattr(exc, "headers", None))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed; its log has the details")


# ---------------------------------------------------------------------------- request size
class BodyTooLargeError(Exception):
    """Raised from `receive` when a body passes the limit."""


class BodyLimitMiddleware:
    """413 for request bodies over `max_bytes`: at once from Content-Length, else while reading
    (chunked uploads), in which case whatever the app answered is replaced."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a cut-off body; ours replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLargeError:
            pass
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit_mb = self.max_bytes / MB
        message = f"the request is larger than the server's limit of {limit_mb:.3g} MB"
        response = error_response(413, "too_large", message, {"Connection": "close"})
        await response(scope, receive, send)


def serve(
    models: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    device: str = "auto",
    cache_size: int = 2,
    tile: int = 1024,
    token: str | None = None,
) -> None:
    """Run the app under uvicorn until interrupted (loopback only unless `host` says else)."""
    import uvicorn

    app = create_app(models, limits, device=device, cache_size=cache_size, tile=tile, token=token)
    count = len(app.state.styleforge.registry.known())
    log.info("%d model(s) under %s; page at http://%s:%d/", count, models, host, port)
    if token is not None:
        log.info("API calls need the bearer token; the page asks for it")
    elif host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach this port can use it", host)
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
    uvicorn.run(app, host=host, port=port, log_level=level, server_header=False)
