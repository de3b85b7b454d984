"""The hostile-input corpus (tests/hostile_inputs.py) through every command that reads user
files: train, stylize, evaluate, data check and the server. Each case gives its documented
outcome (docs/reliability.md): processed, or skipped with its reason; never a traceback, a
hang, or the loss of the rest of the batch."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hostile_inputs import OK, image_cases, image_corpus, model_corpus

from conftest import real_photo, tiny_config
from styleforge.cli import main
from styleforge.data.check import check_folders
from styleforge.server.app import create_app
from styleforge.server.limits import Limits
from styleforge.training.trainer import Trainer

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

EXPECTED = {name: outcome for name, (_, outcome) in image_cases().items()}
GOOD = [name for name, outcome in EXPECTED.items() if outcome == OK]
BAD = [name for name, outcome in EXPECTED.items() if outcome != OK]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A corpus folder, a tiny trained model, and a models root holding hostile model files."""
    root = tmp_path_factory.mktemp("hostile")
    corpus = root / "corpus"
    assert image_corpus(corpus) == EXPECTED
    content = root / "content"
    content.mkdir()
    real_photo("chelsea", 48).save(content / "chelsea.png")
    run = root / "models" / "good"
    Trainer(tiny_config(content, corpus, steps=2), run).run()  # trains on the corpus as style
    model_corpus(root / "models" / "bad")
    return {"root": root, "corpus": corpus, "model": run / "model.safetensors"}


def test_train_skips_bad_style_files(world, tmp_path: Path, capsys, caplog) -> None:
    """The module fixture trained on the corpus; the CLI run says which files it skipped."""
    assert world["model"].exists()
    content = world["root"] / "content"
    code = main(
        ["train", "--content", str(content), "--style", str(world["corpus"]), "--out",
         str(tmp_path / "run"), "--steps", "1", "--threads", "1", "--load-size", "40",
         "--crop-size", "32", "--ngf", "8", "--ndf", "8", "--n-blocks", "1", "--batch-size", "2"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    for name in BAD:
        assert f"{name}: {EXPECTED[name]}" in caplog.text, name


def test_data_check_names_each_bad_file(world, capsys) -> None:
    report = check_folders([world["corpus"]])
    failures = {Path(f.path).name: f.reason for c in report.folders for f in c.report.failures}
    assert set(failures) == set(BAD)
    for name in BAD:
        assert EXPECTED[name] in failures[name], (name, failures[name])
    assert sum(c.report.loaded for c in report.folders) == len(GOOD)
    assert main(["data", "check", str(world["corpus"])]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BAD)


def test_stylize_processes_good_and_reports_bad(world, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["stylize", str(world["model"]), str(world["corpus"]), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == (1 if BAD else 0)
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in out.iterdir()) == sorted(GOOD)
    for name in BAD:
        assert f"{name}: " in captured.err and EXPECTED[name] in captured.err, name
    assert f"{len(GOOD)} stylized, {len(BAD)} failed" in captured.out


def test_evaluate_scores_the_good_and_skips_the_bad(world, tmp_path: Path, capsys, caplog):
    code = main(
        ["evaluate", str(world["model"]), "--content", str(world["corpus"]), "--reference",
         str(world["corpus"]), "-o", str(tmp_path / "eval")]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"{len(GOOD)} test images" in captured.out
    assert all(f"{name}: {EXPECTED[name]}" in caplog.text for name in BAD)


@pytest.mark.parametrize("kind", ["huge_header", "meta_not_json", "other_program", "pickle"])
def test_hostile_model_files_give_one_line(world, tmp_path: Path, capsys, kind: str) -> None:
    bad = world["root"] / "models" / "bad" / f"{kind}.safetensors"
    photo = tmp_path / "in.png"
    real_photo("coffee", 32).save(photo)
    for argv in (
        ["stylize", str(bad), str(photo), "-o", str(tmp_path / "o")],
        ["evaluate", str(bad), "--content", str(world["corpus"]), "--reference",
         str(world["corpus"]), "-o", str(tmp_path / "e")],
    ):  # fmt: skip
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and str(bad) in err[-1], err
        assert "Traceback" not in "\n".join(err)


def test_server_answers_each_case(world) -> None:
    limits = Limits(max_upload_bytes=2_000_000, max_pixels=25_000_000)
    app = create_app(world["root"] / "models", limits, device="cpu")
    with TestClient(app) as client:
        listed = [m["name"] for m in client.get("/api/models").json()["models"]]
        assert listed == ["good"]  # the hostile model files are left out of the listing
        for name, (payload, outcome) in image_cases().items():
            if name == "locked.png":
                continue  # a permission is a property of a file on disk, not of an upload
            response = client.post(
                "/api/stylize",
                files={"image": (name, payload, "application/octet-stream")},
                data={"model": "good"},
            )
            if outcome == OK:
                assert response.status_code == 200, (name, response.text)
            else:
                assert response.status_code in (400, 413, 415), (name, response.text)
                assert response.headers["content-type"] == "application/json"
