"""What the app and its middlewares share at the ASGI level: the callables' types and the one
shape of every error body, so a middleware answers as the routes do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one shape of every error body."""
    body = {"status": status, "error": code, "message": message}
    return JSONResponse(body, status_code=status, headers=headers)
