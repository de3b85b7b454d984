"""The server's bearer token: read from a file or the environment, asked of every API call,
never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_server import TestClient, assert_json_error

from styleforge.cli import main
from styleforge.errors import StyleforgeError
from styleforge.server.app import create_app
from styleforge.server.auth import TOKEN_ENV

TOKEN = "team-token-0123456789"
RIGHT = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    """A server with a token over an empty models folder: the token check needs no model."""
    models = tmp_path_factory.mktemp("no-models")
    with TestClient(create_app(models, device="cpu", token=TOKEN)) as test_client:
        yield test_client


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The keyword arguments of each `serve` call the CLI makes; no server starts."""
    calls: list[dict] = []
    monkeypatch.setattr("styleforge.server.app.serve", lambda models, **kw: calls.append(kw))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return calls


def stylize(client: TestClient, headers: dict[str, str]):
    """POST /api/stylize with a (not even decoded) upload and `headers`."""
    files = {"image": ("a.png", b"not looked at", "image/png")}
    return client.post("/api/stylize", files=files, data={"model": "toon"}, headers=headers)


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, "missing token: send the header Authorization: Bearer"),
        ({"Authorization": "Bearer "}, "wrong token"),
        ({"Authorization": "Bearer team-token"}, "wrong token"),
        ({"Authorization": f"Bearer {TOKEN}0"}, "wrong token"),
        ({"Authorization": f"Basic {TOKEN}"}, "wrong token"),
        ({"Authorization": TOKEN}, "wrong token"),
    ],
)
def test_api_calls_without_the_right_token_get_401(
    client: TestClient, headers: dict[str, str], words: str
) -> None:
    for response in (client.get("/api/models", headers=headers), stylize(client, headers)):
        assert_json_error(response, 401, "unauthorized", words)
        assert response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text


def test_the_right_token_opens_the_api(client: TestClient) -> None:
    assert client.get("/api/models", headers=RIGHT).json()["models"] == []
    lower = {"Authorization": f"bearer  {TOKEN} "}  # the scheme's case and spaces do not matter
    assert client.get("/api/models", headers=lower).status_code == 200
    # past the token check, the request meets the next one: no such model
    assert_json_error(stylize(client, RIGHT), 404, "unknown_model", "no models were found")


def test_paths_outside_the_open_ones_need_the_token_too(client: TestClient) -> None:
    for path in ("/api/nowhere", "/api/models/", "/nowhere"):
        assert_json_error(client.get(path), 401, "unauthorized", "missing token")
    assert_json_error(client.get("/nowhere", headers=RIGHT), 404, "not_found", "no such")
    # the open /static/ prefix reaches the page's files and nothing else
    escape = client.get("/static/..%2fapi%2fmodels")
    assert_json_error(escape, 404, "not_found", "no such endpoint: GET /static/../api/models")


def test_the_page_its_files_health_and_docs_stay_open(client: TestClient) -> None:
    for path in ("/", "/static/app.js", "/static/style.css", "/healthz", "/docs", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_an_empty_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StyleforgeError, match="the token is empty"):
        create_app(tmp_path, device="cpu", token="")


def test_serve_reads_the_token_from_a_file_or_the_environment(
    tmp_path: Path, served: list[dict], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "token").write_text(f"\n  {TOKEN}\n")
    assert main(["serve", "--models", str(tmp_path), "--token-file", str(tmp_path / "token")]) == 0
    assert main(["serve", "--models", str(tmp_path)]) == 0
    monkeypatch.setenv(TOKEN_ENV, f"{TOKEN}\n")
    assert main(["serve", "--models", str(tmp_path)]) == 0
    assert [call["token"] for call in served] == [TOKEN, None, TOKEN]
    printed = capsys.readouterr()
    assert TOKEN not in printed.out + printed.err


@pytest.mark.parametrize(
    ("text", "env", "words"),
    [
        (" \n\t", None, "--token-file {file} is empty"),
        (None, None, "--token-file {file}: cannot read it (No such file or directory)"),
        ("two words", None, "--token-file {file}: the token must be printable ASCII"),
        ("x" * 5000, None, "--token-file {file}: longer than 4096 bytes"),
        (TOKEN, TOKEN, f"give the token by --token-file or by {TOKEN_ENV}, not both"),
    ],
)
def test_a_bad_token_file_is_one_error_line(
    tmp_path: Path,
    served: list[dict],
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    text: str | None,
    env: str | None,
    words: str,
) -> None:
    file = tmp_path / "token"
    if text is not None:
        file.write_text(text)
    if env is not None:
        monkeypatch.setenv(TOKEN_ENV, env)
    assert main(["serve", "--models", str(tmp_path), "--token-file", str(file)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {words.format(file=file)}") and err.count("\n") == 1, err
    assert served == []


def test_an_empty_environment_variable_is_an_error_not_an_open_server(
    tmp_path: Path, served: list[dict], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "  ")
    assert main(["serve", "--models", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: {TOKEN_ENV} is empty\n"
    assert served == []


def test_help_names_the_token_options_and_never_shows_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with pytest.raises(SystemExit) as info:
        main(["serve", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--token-file" in text and f"${TOKEN_ENV}" in text and TOKEN not in text
