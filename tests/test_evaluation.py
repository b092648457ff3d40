"""`affectwatch evaluate` against models whose answers are known: each always outputs one label."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from affectwatch import cli
from affectwatch.config import Config
from affectwatch.exceptions import DataError, ModelError
from modeling.evaluation import evaluate_folder, render_text, resolve_model
from tests import faceset
from worker.models.modelfile import DEFAULT_MODEL, ModelMeta, save_model
from worker.models.nets import build

LABELS = ["happy", "neutral", "sad"]
TEMPERATURE = 2.0
BIAS = 5.0
COUNTS = {"happy": 3, "neutral": 2, "sadness": 2, "contempt": 1}  # 7 faces the model can score, 1 it cannot


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def constant_model(path: Path, winner: str) -> Path:
    """A facenet48 whose head ignores the face: the logit of `winner` is BIAS, the others 0."""
    net = build("facenet48", len(LABELS), 0.5, 0.25)
    head = net.head[-1]  # type: ignore[index]
    assert isinstance(head, torch.nn.Linear)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[LABELS.index(winner)] = BIAS
    save_model(net, ModelMeta(name=path.stem, arch="facenet48", labels=LABELS, input_size=48,
                              temperature=TEMPERATURE), path)
    return path


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Grey 25x25 LFW faces in class folders (dataset-style input, upscaled to 48 by face_input)."""
    root = tmp_path_factory.mktemp("lfw")
    lfw = iter(faceset.lfw_faces(sum(COUNTS.values())))
    for folder, n in COUNTS.items():
        for i in range(n):
            faceset.write_image(root / folder / f"{i}.png", next(lfw))
    return root


def evaluate(faces: Path, model: Path, tmp_path: Path, config: Config | None = None) -> dict[str, Any]:
    return evaluate_folder(faces, model, detect=False, config=config or Config.from_env({}), device="cpu",
                           confusion_png=tmp_path / "cm.png")


def top_probability(temperature: float) -> float:
    big = math.exp(BIAS / temperature)
    return big / (big + len(LABELS) - 1)


def test_a_model_that_always_says_happy(faces: Path, tmp_path: Path) -> None:
    got = evaluate(faces, constant_model(tmp_path / "happy.safetensors", "happy"), tmp_path)
    assert got["n"] == 7
    assert got["accuracy"] == pytest.approx(3 / 7)
    assert got["per_class"]["happy"] == pytest.approx({"precision": 3 / 7, "recall": 1, "f1": 0.6, "support": 3})
    assert got["per_class"]["sad"] == pytest.approx({"precision": 0, "recall": 0, "f1": 0, "support": 2})
    assert got["macro_f1"] == pytest.approx(0.2)
    assert got["negative_false_alarm_rate"] == 0.0
    assert got["negative_recall"] == 0.0
    assert got["not_in_model"] == {"contempt": {"n": 1, "predicted": {"happy": 1}}}
    assert got["confusion"] == [[3, 0, 0], [2, 0, 0], [2, 0, 0]]
    assert got["ece"] == pytest.approx(top_probability(TEMPERATURE) - 3 / 7, abs=1e-5)
    assert got["ece_uncalibrated"] == pytest.approx(top_probability(1.0) - 3 / 7, abs=1e-5)
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_a_model_that_always_says_sad_raises_every_alarm(faces: Path, tmp_path: Path) -> None:
    got = evaluate(faces, constant_model(tmp_path / "sad.safetensors", "sad"), tmp_path)
    assert got["accuracy"] == pytest.approx(2 / 7)
    assert got["negative_false_alarm_rate"] == 1.0
    assert got["negative_recall"] == 1.0


def test_the_configured_negative_labels_count(faces: Path, tmp_path: Path) -> None:
    config = replace(Config.from_env({}), negative_labels=frozenset({"neutral"}))
    got = evaluate(faces, constant_model(tmp_path / "neutral.safetensors", "neutral"), tmp_path, config)
    assert got["negative_false_alarm_rate"] == 1.0  # every happy and sad face was called neutral
    assert got["negative_recall"] == 1.0


def test_cli_json_and_text(faces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = str(constant_model(tmp_path / "happy.safetensors", "happy"))
    base = ["evaluate", "--data", str(faces), "--model", model, "--confusion", str(tmp_path / "c.png"), "--no-progress"]
    assert cli.main([*base, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    keys = {"accuracy", "macro_f1", "per_class", "negative_false_alarm_rate", "negative_recall", "n"}
    assert keys <= set(got) and "no_face" not in got
    assert cli.main(base) == 0
    text = capsys.readouterr().out
    assert "accuracy 0.4286" in text and "macro-F1 0.2000" in text
    assert "negative false-alarm rate 0.000" in text and "negative recall           0.000" in text
    assert "happy          0.429   1.000  0.600      3" in text
    assert "not scored: 1 contempt faces" in text
    assert text == render_text(got) + "\n"


def test_a_folder_that_maps_to_no_label_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = constant_model(tmp_path / "happy.safetensors", "happy")
    faceset.write_image(tmp_path / "data" / "grumpy" / "0.png", faceset.lfw_faces(1)[0])
    assert cli.main(["evaluate", "--data", str(tmp_path / "data"), "--model", str(model), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "class folder" in err and "'grumpy' is not one of anger" in err


def test_only_labels_the_model_lacks_is_an_error(tmp_path: Path) -> None:
    faceset.write_image(tmp_path / "data" / "contempt" / "0.png", faceset.lfw_faces(1)[0])
    with pytest.raises(DataError, match="none of the faces carries a label the model can output"):
        evaluate(tmp_path / "data", constant_model(tmp_path / "m.safetensors", "happy"), tmp_path)


def test_a_missing_model_is_a_clear_error(faces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.safetensors"
    assert cli.main(["evaluate", "--data", str(faces), "--model", str(missing)]) == 2
    assert f"no model weights at {missing}" in capsys.readouterr().err


def test_the_model_is_the_option_then_the_setting_then_the_shipped_one(tmp_path: Path) -> None:
    a, b = constant_model(tmp_path / "a.safetensors", "happy"), constant_model(tmp_path / "b.safetensors", "sad")
    configured = replace(Config.from_env({}), model=b)
    assert resolve_model(a, configured) == a
    assert resolve_model(None, configured) == b
    if DEFAULT_MODEL.exists():
        assert resolve_model(None, Config.from_env({})) == DEFAULT_MODEL
    else:
        with pytest.raises(ModelError, match="shipped model is missing"):
            resolve_model(None, Config.from_env({}))
