"""The optional bearer token that makes a server one a team can share.

`serve --token-file PATH` or the `STYLEFORGE_TOKEN` environment variable (giving both is an
error) sets a token; every request then needs `Authorization: Bearer <token>`, except those
for the page's own files, `/healthz` and the API docs (`PUBLIC_PATHS`). The token is read
once at start, compared in constant time, and never logged or quoted in a message.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from styleforge.errors import StyleforgeError
from styleforge.server.asgi import Receive, Scope, Send, error_response

TOKEN_ENV = "STYLEFORGE_TOKEN"
PUBLIC_PATHS = frozenset(
    {"/", "/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
PUBLIC_PREFIX = "/static/"
MAX_TOKEN_FILE_BYTES = 4096  # a token is short; more is the wrong file
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # what a browser can send in a header, unquoted


def read_token(path: Path | None, environ: Mapping[str, str]) -> str | None:
    """The token from `path` or from `TOKEN_ENV` in `environ`; None: the server is open."""
    from_env = environ.get(TOKEN_ENV)
    if path is not None and from_env is not None:
        raise StyleforgeError(f"give the token by --token-file or by {TOKEN_ENV}, not both")
    if path is not None:
        return check_token(_read_token_file(path), f"--token-file {path}")
    if from_env is not None:
        return check_token(from_env.strip(), TOKEN_ENV)
    return None


def _read_token_file(path: Path) -> str:
    """The file's text, whitespace stripped; any failure is one line without a traceback."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or exc
        raise StyleforgeError(f"--token-file {path}: cannot read it ({reason})") from None
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise StyleforgeError(f"--token-file {path}: longer than {MAX_TOKEN_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise StyleforgeError(f"--token-file {path}: not UTF-8 text") from None


def check_token(token: str, source: str) -> str:
    """`token` if a browser can send it as is; errors name `source`, never the token."""
    if not token:
        raise StyleforgeError(f"{source} is empty")
    if not _HEADER_SAFE.fullmatch(token):
        raise StyleforgeError(f"{source}: the token must be printable ASCII without spaces")
    return token


def token_problem(authorization: bytes | None, token: bytes) -> str | None:
    """Why an `Authorization` header does not carry `token` (None: it does), in constant time."""
    if not authorization:
        return "missing token: send the header Authorization: Bearer <token>"
    scheme, _, given = authorization.strip().partition(b" ")
    matches = hmac.compare_digest(given.strip(), token)  # first: same time whatever the scheme
    if scheme.lower() != b"bearer" or not matches:
        return "wrong token"
    return None


def is_public(path: str) -> bool:
    """Paths open without the token: the page, its files, liveness and the API docs."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIX)


class BearerTokenMiddleware:
    """401 with `WWW-Authenticate: Bearer` for a request off the public paths that lacks the
    token; the check comes before routing, so a new route is protected without asking."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], token: str):
        self.app = app
        self.token = token.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_public(scope["path"]):
            header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
            problem = token_problem(header, self.token)
            if problem is not None:
                headers = {"WWW-Authenticate": "Bearer"}
                await error_response(401, "unauthorized", problem, headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)
