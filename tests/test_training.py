"""`affectwatch train` and `affectwatch evaluate` end to end, on a tiny face set made at test time."""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from affectwatch import cli
from affectwatch.exceptions import ModelError
from modeling.augment import PRESETS
from modeling.datasets import read_rgb
from modeling.distillation import error_weights
from modeling.losses import group_log_odds, group_loss, soft_loss
from modeling.training import KEEPS, PRECISIONS, SCHEDULES, Trainer, TrainSettings, autocast_bf16
from tests import faceset
from worker.facecrop import largest_face_crop
from worker.models.classifier import ExpressionClassifier
from worker.models.modelfile import STORAGE, load_model, read_meta, save_model
from worker.models.nets import TRAINABLE, Ensemble
from worker.preprocess import FER_TEMPLATE, Framing

pytestmark = pytest.mark.slow
LABELS = ["happy", "neutral", "sad"]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def train_args(data: Path, out: Path, epochs: int) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--epochs", str(epochs), "--batch-size", "8",
            "--threads", "1", "--no-progress", "--seed", "3"]


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    assert cli.main(train_args(data, out, 1)) == 0
    return out


def test_train_writes_weights_metadata_checkpoint_and_curves(trained: Path) -> None:
    for suffix in (".safetensors", ".json", ".ckpt"):
        assert trained.with_suffix(suffix).stat().st_size > 0
    assert read_rgb(trained.with_name("tiny-curves.png")) is not None
    meta = read_meta(trained)
    assert meta.labels == LABELS  # the happiness and sadness folders map onto the eight labels
    assert (meta.arch, meta.input_size, meta.colour) == ("facenet48", 48, "grey")
    assert meta.temperature > 0 and meta.extra["epochs_run"] == 1 and len(meta.extra["history"]) == 1
    assert 0 <= meta.extra["ece_after"] <= 1
    assert meta.framing == Framing(0.2, FER_TEMPLATE, 48)  # the worker will align faces to FER2013's framing


def test_a_model_trained_with_box_framing_is_cut_by_its_box(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "boxed.safetensors"
    assert cli.main([*train_args(data, out, 1), "--framing", "box"]) == 0
    assert read_meta(out).template is None and read_meta(out).framing.template is None


def test_checkpoint_and_metadata_round_trip(trained: Path, tmp_path: Path) -> None:
    net, meta = load_model(trained)
    stored = load_file(str(trained))
    assert all(torch.equal(v, stored[k]) for k, v in net.state_dict().items())
    ck = torch.load(trained.with_suffix(".ckpt"), weights_only=True)
    assert ck["labels"] == LABELS and ck["state"]["epoch"] == 1
    assert all(torch.equal(v, stored[k]) for k, v in ck["net"].items())
    save_model(net, meta, tmp_path / "copy.safetensors")
    again, meta2 = load_model(tmp_path / "copy.safetensors")
    assert asdict(meta2) == asdict(meta)
    x = torch.rand(4, 1, 48, 48)
    with torch.inference_mode():
        assert torch.equal(net(x), again(x))


def test_resume_continues_an_interrupted_run_exactly(data: Path, tmp_path: Path) -> None:
    straight, resumed = tmp_path / "straight.safetensors", tmp_path / "resumed.safetensors"
    assert cli.main(train_args(data, straight, 2)) == 0
    first = Trainer(TrainSettings(data=data, out=resumed, epochs=2, batch_size=8, seed=3, progress=False))
    first._one_epoch()  # then the process "dies": only the checkpoint of epoch 1 is left
    assert cli.main(train_args(data, resumed, 2)) == 0
    history = read_meta(resumed).extra["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[0]["train_loss"] == first.state.history[0]["train_loss"]
    a, b = load_file(str(straight)), load_file(str(resumed))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_resume_refuses_a_checkpoint_of_another_schedule(data: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.safetensors"
    Trainer(TrainSettings(data=data, out=out, epochs=3, batch_size=8, progress=False)).save_checkpoint()
    assert cli.main(train_args(data, out, 2)) == 2
    assert "resume with the same command, or delete it" in capsys.readouterr().err


def test_train_refuses_a_folder_that_maps_to_no_label(data: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    faceset.write_split(tmp_path, "val")
    faceset.write_image(tmp_path / "train" / "bored" / "x.png", faceset.crops()["camera"])
    assert cli.main(train_args(tmp_path, tmp_path / "m.safetensors", 1)) == 2
    err = capsys.readouterr().err
    assert "bored" in err and "is not one of anger" in err


def evaluate_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert cli.main(["evaluate", "--json", "--no-progress", *args]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def expected_figures(true: list[str], pred: list[str]) -> dict[str, object]:
    negative = {"anger", "contempt", "disgust", "fear", "sad"}
    non = [p in negative for t, p in zip(true, pred, strict=True) if t not in negative]
    neg = [p in negative for t, p in zip(true, pred, strict=True) if t in negative]
    return {
        "n": len(true),
        "accuracy": float(np.mean([t == p for t, p in zip(true, pred, strict=True)])),
        "negative_false_alarm_rate": float(np.mean(non)),
        "negative_recall": float(np.mean(neg)),
        "confusion": [[sum(t == a and p == b for t, p in zip(true, pred, strict=True)) for b in LABELS]
                      for a in LABELS],
    }


def test_evaluate_json_reports_what_the_model_does(trained: Path, data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    val = Path(shutil.copytree(data / "val", tmp_path / "val"))
    faceset.write_image(val / "contempt" / "c.png", faceset.crops()["hopper"])  # a label the model lacks
    got = evaluate_json(capsys, "--data", str(val), "--model", str(trained), "--confusion", str(tmp_path / "cm.png"))
    clf = ExpressionClassifier(trained)
    files = sorted((data / "val").glob("*/*.png"))
    folder = {"happiness": "happy", "neutral": "neutral", "sadness": "sad"}
    true = [folder[p.parent.name] for p in files]
    direct = clf.predict([read_rgb(p) for p in files])  # type: ignore[misc]
    pred = [e.label for e in direct]
    assert got["mean_confidence"] == pytest.approx(np.mean([e.confidence for e in direct]), rel=1e-5)
    for key, value in expected_figures(true, pred).items():
        assert got[key] == (value if key == "confusion" else pytest.approx(value)), key
    contempt = clf.predict([faceset.crops()["hopper"]])[0].label
    assert got["not_in_model"] == {"contempt": {"n": 1, "predicted": {contempt: 1}}}
    assert isinstance(got["per_class"], dict) and set(got["per_class"]) == set(LABELS)
    assert read_rgb(tmp_path / "cm.png") is not None


def test_evaluate_detect_goes_through_the_worker_face_path(trained: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    photos = faceset.photos()
    for folder, name in {**faceset.FOLDERS, "happy": "coffee"}.items():
        faceset.write_image(tmp_path / "photos" / folder / f"{name}.png", photos[name])
    got = evaluate_json(capsys, "--data", str(tmp_path / "photos"), "--model", str(trained), "--detect",
                        "--confusion", str(tmp_path / "cm.png"))
    clf = ExpressionClassifier(trained)
    framing = clf.meta.framing
    true = ["happy", "neutral", "sad"]
    faces = [largest_face_crop(faceset.detector(), photos[n], framing) for n in ("astronaut", "hopper", "camera")]
    direct = clf.predict(faces)  # type: ignore[arg-type]
    pred = [e.label for e in direct]
    assert got["mean_confidence"] == pytest.approx(np.mean([e.confidence for e in direct]), rel=1e-5)
    assert got["no_face"] == 1
    assert got["n"] == 3
    assert got["confusion"] == expected_figures(true, pred)["confusion"]


def test_source_weights_give_an_extra_source_the_main_label_mix() -> None:
    from modeling.training import source_weights

    main = torch.tensor([0, 0, 1, 1, 2, 2])  # one third each
    extra = torch.tensor([0] * 8 + [1, 2])  # mostly label 0: its framing would predict label 0
    y = torch.cat([main, extra])
    source = torch.tensor([0] * 6 + [1] * 10)
    w = source_weights(y, source, 3)
    assert torch.equal(w[:6], torch.ones(6))
    mix = torch.bincount(extra, weights=w[6:], minlength=3)
    assert torch.allclose(mix / mix.sum(), torch.full((3,), 1 / 3))
    assert abs(float(w[6:].mean()) - 1.0) < 1e-6


def test_source_weights_cap_a_rare_label_of_an_extra_source() -> None:
    from modeling.training import source_weights

    y = torch.tensor([0, 1] + [0] * 99 + [1])
    source = torch.tensor([0, 0] + [1] * 100)
    w = source_weights(y, source, 2, cap=15.0)
    assert float(w[-1] / w[2]) == pytest.approx(15.0 / (0.5 / 0.99))


def test_train_refuses_an_unknown_augmentation(data: Path, tmp_path: Path) -> None:
    from affectwatch.exceptions import ModelError

    with pytest.raises(ModelError, match="unknown augmentation"):
        Trainer(TrainSettings(data=data, out=tmp_path / "m.safetensors", augment="wild", progress=False))


def test_train_with_a_balanced_extra_source(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "balanced.safetensors"
    args = [*train_args(data, out, 1), "--extra-train", str(data / "val"), "--balance-sources", "--augment", "strong"]
    assert cli.main(args) == 0
    settings = read_meta(out).extra["settings"]
    assert settings["balance_sources"] == "True" and settings["augment"] == "strong"


def test_the_fully_connected_head_trains_without_class_weights_and_serves(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "fc.safetensors"
    assert cli.main([*train_args(data, out, 1), "--arch", "facenet48-fc", "--class-weighting", "none"]) == 0
    meta = read_meta(out)
    assert (meta.arch, meta.extra["settings"]["class_weighting"]) == ("facenet48-fc", "none")
    events = ExpressionClassifier(out).predict([faceset.crops()["astronaut"], faceset.crops()["hopper"]])
    assert [e.label in LABELS for e in events] == [True, True]


def test_init_starts_from_given_weights_and_keeps_their_normalisation(trained: Path, data: Path,
                                                                      tmp_path: Path) -> None:
    start = load_file(str(trained))
    trainer = Trainer(TrainSettings(data=data, out=tmp_path / "fine.safetensors", init=trained,
                                    extra_train=[data / "val"], progress=False))
    state = trainer.net.state_dict()
    assert torch.equal(state["head.3.weight"], start["head.3.weight"])
    assert trainer.mean == pytest.approx(float(start["normalise.mean"]))


def test_combine_joins_two_models_reading_each_face_and_its_mirror(trained: Path, data: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.safetensors"
    assert cli.main([*train_args(data, other, 1)[:-1], "4"]) == 0  # another seed
    capsys.readouterr()
    out = tmp_path / "both.safetensors"
    assert cli.main(["combine", str(trained), str(other), "--val", str(data / "val"), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "mirror:facenet48,facenet48"
    both, meta = load_model(out)
    (a, _), (b, _) = load_model(trained), load_model(other)
    x = torch.rand(3, 1, 48, 48)
    with torch.inference_mode():
        mirror = torch.flip(x, [3])
        want = (a(x) + a(mirror) + b(x) + b(mirror)) / 4
        assert torch.allclose(both(x), want, atol=1e-5)
    assert meta.temperature > 0 and meta.framing == read_meta(trained).framing
    assert [m["model"] for m in meta.extra["members"]] == [str(trained), str(other)]
    assert ExpressionClassifier(out).predict([faceset.crops()["astronaut"]])[0].label in LABELS


def test_combine_refuses_models_that_do_not_fit_together(trained: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    net, meta = load_model(trained)
    save_model(net, replace(meta, labels=["happy", "neutral", "fear"]), tmp_path / "fear.safetensors")
    out = str(tmp_path / "x.safetensors")
    assert cli.main(["combine", str(trained), str(tmp_path / "fear.safetensors"), "--val", ".", "--out", out]) == 2
    assert "differs from" in capsys.readouterr().err
    assert cli.main(["combine", *[str(trained)] * 5, "--val", ".", "--out", out]) == 2
    assert "1 to 4 single networks" in capsys.readouterr().err
    assert not Path(out).exists()


def test_combine_joins_models_of_different_architectures(trained: Path, data: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    fc = tmp_path / "fc.safetensors"
    assert cli.main([*train_args(data, fc, 1), "--arch", "facenet48-fc"]) == 0
    capsys.readouterr()
    out = tmp_path / "mixed.safetensors"
    assert cli.main(["combine", str(trained), str(fc), "--val", str(data / "val"), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "mirror:facenet48,facenet48-fc"
    assert ExpressionClassifier(out).predict([faceset.crops()["hopper"]])[0].label in LABELS


def test_the_residual_network_trains_serves_and_joins_a_facenet(trained: Path, data: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    res, out = tmp_path / "res.safetensors", tmp_path / "mixed.safetensors"
    assert cli.main([*train_args(data, res, 1), "--arch", "facenet48-res"]) == 0
    assert read_meta(res).arch == "facenet48-res"
    capsys.readouterr()
    assert cli.main(["combine", str(trained), str(res), "--val", str(data / "val"), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "mirror:facenet48,facenet48-res"
    assert ExpressionClassifier(out).predict([faceset.crops()["astronaut"]])[0].label in LABELS
    assert cli.main(["split", str(out), "--out", str(tmp_path / "parts")]) == 0
    assert read_meta(tmp_path / "parts" / "mixed-2.safetensors").arch == "facenet48-res"


def test_one_model_combined_reads_each_face_and_its_mirror(trained: Path, data: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mirrored.safetensors"
    assert cli.main(["combine", str(trained), "--val", str(data / "val"), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "mirror:facenet48"
    (mirrored, _), (alone, _) = load_model(out), load_model(trained)
    x = torch.rand(3, 1, 48, 48)
    with torch.inference_mode():
        assert torch.allclose(mirrored(x), (alone(x) + alone(torch.flip(x, [3]))) / 2, atol=1e-5)


def test_combine_takes_the_networks_of_a_joined_model_as_members(trained: Path, data: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fc = tmp_path / "fc.safetensors"
    assert cli.main([*train_args(data, fc, 1), "--arch", "facenet48-fc"]) == 0
    mirrored, out = tmp_path / "mirrored.safetensors", tmp_path / "pair.safetensors"
    assert cli.main(["combine", str(trained), "--val", str(data / "val"), "--out", str(mirrored)]) == 0
    capsys.readouterr()
    assert cli.main(["combine", str(mirrored), str(fc), "--val", str(data / "val"), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "mirror:facenet48,facenet48-fc"
    (pair, meta), (a, _), (b, _) = load_model(out), load_model(trained), load_model(fc)
    x = torch.rand(3, 1, 48, 48)
    with torch.inference_mode():
        mirror = torch.flip(x, [3])
        assert torch.allclose(pair(x), (a(x) + a(mirror) + b(x) + b(mirror)) / 4, atol=1e-5)
    assert meta.extra["members"][0]["members"][0]["model"] == str(trained)
    too_many = ["combine", str(out), str(out), str(mirrored), "--val", str(data / "val"), "--out", str(tmp_path / "x")]
    assert cli.main(too_many) == 2
    assert "1 to 4 single networks" in capsys.readouterr().err


def test_combine_can_store_the_joined_weights_in_half_the_space(trained: Path, data: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    for out, storage in ((full, "float32"), (half, "float16")):
        assert cli.main(["combine", str(trained), str(trained), "--val", str(data / "val"), "--out", str(out),
                         "--storage", storage]) == 0
    capsys.readouterr()
    assert {t.dtype for t in load_file(str(half)).values() if t.is_floating_point()} == {torch.float16}
    assert half.stat().st_size < 0.55 * full.stat().st_size
    (a, full_meta), (b, half_meta) = load_model(full), load_model(half)
    assert all(p.dtype == torch.float32 for p in b.parameters())
    x = torch.rand(4, 1, 48, 48)
    with torch.inference_mode():
        assert not torch.equal(a(x), b(x)) and torch.allclose(a(x), b(x), atol=2e-2)
    assert half_meta.extra["storage"] == "float16" and full_meta.extra["storage"] == "float32"
    assert cli.main(["evaluate", "--data", str(data / "val"), "--model", str(half), "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(half_meta.extra["val_accuracy"])


def test_split_gives_back_each_network_of_a_joined_model_with_its_record(trained: Path, data: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fc, mirrored, pair = (tmp_path / f"{name}.safetensors" for name in ("fc", "mirrored", "pair"))
    assert cli.main([*train_args(data, fc, 1), "--arch", "facenet48-fc"]) == 0
    assert cli.main(["combine", str(trained), "--val", str(data / "val"), "--out", str(mirrored)]) == 0
    assert cli.main(["combine", str(mirrored), str(fc), "--val", str(data / "val"), "--out", str(pair),
                     "--storage", "float16"]) == 0  # the first network's record nests two levels down
    capsys.readouterr()
    assert cli.main(["split", str(pair), "--out", str(tmp_path / "parts")]) == 0
    parts = [Path(p) for p in json.loads(capsys.readouterr().out)]
    assert [p.name for p in parts] == ["pair-1.safetensors", "pair-2.safetensors"]
    joined, _ = load_model(pair)
    x = torch.rand(3, 1, 48, 48)
    for part, member, source in zip(parts, joined.members, (trained, fc), strict=True):
        (net, meta), origin = load_model(part), read_meta(source)
        assert (meta.arch, meta.temperature, meta.framing) == (origin.arch, 1.0, origin.framing)
        assert {k: meta.extra[k] for k in ("val_accuracy", "settings", "trained_as", "split_from")} == {
            "val_accuracy": origin.extra["val_accuracy"], "settings": origin.extra["settings"],
            "trained_as": str(source), "split_from": str(pair)}
        with torch.inference_mode():
            assert torch.equal(net(x), member(x))
    again = tmp_path / "again.safetensors"
    assert cli.main(["combine", *map(str, parts), "--val", str(data / "val"), "--out", str(again)]) == 0
    with torch.inference_mode():
        assert torch.equal(load_model(again)[0](x), joined(x))


def test_a_model_joined_under_session_3s_name_still_loads(trained: Path, tmp_path: Path) -> None:
    (a, meta), (b, _) = load_model(trained), load_model(trained)
    two = Ensemble([a, b])
    save_model(two, replace(meta, arch="facenet48x2"), tmp_path / "old.safetensors")
    loaded, _ = load_model(tmp_path / "old.safetensors")
    x = torch.rand(2, 1, 48, 48)
    with torch.inference_mode():
        assert torch.allclose(loaded(x), two.eval()(x), atol=1e-5)


def swa_settings(data: Path, out: Path, init: Path) -> TrainSettings:
    return TrainSettings(data=data, out=out, epochs=2, batch_size=8, lr=1e-3, seed=3, init=init, schedule="swa",
                         patience=2, progress=False)


def test_swa_keeps_the_mean_of_the_epochs_weights_with_batch_norms_refitted(trained: Path, data: Path,
                                                                            tmp_path: Path) -> None:
    trainer = Trainer(swa_settings(data, tmp_path / "swa.safetensors", trained))
    ends = []
    for _ in range(2):
        trainer._one_epoch()
        ends.append({k: v.clone() for k, v in trainer.net.state_dict().items()})
    kept = trainer.kept.state_dict()
    conv = "features.0.0.weight"
    assert not torch.equal(ends[0][conv], ends[1][conv])
    assert torch.allclose(kept[conv], (ends[0][conv] + ends[1][conv]) / 2, atol=1e-6)
    bn = "features.0.1.running_mean"  # refitted on the training faces, not averaged
    assert not torch.allclose(kept[bn], (ends[0][bn] + ends[1][bn]) / 2, atol=1e-4)
    meta = trainer.finish()
    assert meta.extra["settings"]["schedule"] == "swa" and meta.arch == "facenet48"
    saved = load_file(str(tmp_path / "swa.safetensors"))
    best = meta.extra["best_epoch"]
    assert torch.equal(saved[conv], kept[conv]) or best == 1
    assert meta.extra["val_accuracy"] == pytest.approx(meta.extra["history"][best - 1]["val_acc"])
    assert ExpressionClassifier(tmp_path / "swa.safetensors").predict([faceset.crops()["astronaut"]])[0].label in LABELS


def test_swa_resumes_its_average_and_refuses_a_checkpoint_of_another_schedule(
        trained: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "swa.safetensors"
    first = Trainer(swa_settings(data, out, trained))
    first._one_epoch()
    again = Trainer(swa_settings(data, out, trained))
    assert again.resume() and again.averaged is not None and int(again.averaged.n_averaged) == 1
    assert torch.equal(again.kept.state_dict()["head.3.weight"], first.kept.state_dict()["head.3.weight"])
    plain = tmp_path / "plain.safetensors"
    Trainer(replace(swa_settings(data, plain, trained), schedule="onecycle")).save_checkpoint()
    assert cli.main([*train_args(data, plain, 2), "--schedule", "swa", "--init", str(trained)]) == 2
    assert "--schedule" in capsys.readouterr().err


def test_init_takes_the_network_of_a_model_combined_from_one(trained: Path, data: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    mirrored = tmp_path / "mirrored.safetensors"
    assert cli.main(["combine", str(trained), "--val", str(data / "val"), "--out", str(mirrored)]) == 0
    trainer = Trainer(TrainSettings(data=data, out=tmp_path / "x.safetensors", init=mirrored, progress=False))
    assert torch.equal(trainer.net.state_dict()["head.3.weight"], load_file(str(trained))["head.3.weight"])
    both = tmp_path / "both.safetensors"
    assert cli.main(["combine", str(trained), str(trained), "--val", str(data / "val"), "--out", str(both)]) == 0
    assert cli.main([*train_args(data, tmp_path / "y.safetensors", 1), "--init", str(both)]) == 2
    assert "joins several networks" in capsys.readouterr().err


def test_soft_loss_is_the_tempered_kl_divergence_scaled_by_t_squared() -> None:
    student, teacher = torch.randn(5, 3), torch.randn(5, 3)
    assert torch.allclose(soft_loss(teacher, teacher, 2.0), torch.zeros(5), atol=1e-6)
    kl = F.kl_div(F.log_softmax(student / 2, 1), F.log_softmax(teacher / 2, 1), log_target=True, reduction="none")
    assert torch.allclose(soft_loss(student, teacher, 2.0), kl.sum(1) * 4, atol=1e-6)


def test_distillation_blends_the_teachers_soft_labels_into_the_loss(trained: Path, data: Path,
                                                                    tmp_path: Path) -> None:
    settings = TrainSettings(data=data, out=tmp_path / "d.safetensors", batch_size=8, init=trained, teacher=trained,
                             distill=1.0, progress=False)
    only_teacher = Trainer(settings)
    assert only_teacher.teacher is not None
    x, y, w = only_teacher.train.x[:8].float() / 255, only_teacher.train.y[:8], torch.rand(8) + 0.5
    agreeing = only_teacher.teacher.logits(x)
    assert float(only_teacher._loss(agreeing, x, y, w)) == pytest.approx(0.0, abs=1e-5)
    half = Trainer(replace(settings, distill=0.5))._loss(agreeing, x, y, w)
    labels_only = Trainer(replace(settings, teacher=None))._loss(agreeing, x, y, w)
    assert float(half) == pytest.approx(0.5 * float(labels_only), rel=1e-5) and float(labels_only) > 0


def test_a_teacher_that_reads_once_reads_the_faces_as_they_are_and_its_logits_teach(trained: Path, data: Path,
                                                                                   tmp_path: Path) -> None:
    settings = TrainSettings(data=data, out=tmp_path / "o.safetensors", batch_size=8, init=trained, teacher=trained,
                             distill=1.0, teacher_reads="original", progress=False)
    trainer = Trainer(settings)
    assert trainer.teacher is not None and trainer.taught is not None
    assert trainer.taught.shape == (len(trainer.train.y), len(trainer.labels))
    x, y, w = trainer.train.x[:8].float() / 255, trainer.train.y[:8], torch.rand(8) + 0.5
    assert torch.allclose(trainer.taught[:8], trainer.teacher.logits(x), atol=1e-4)
    sure = 10 * F.one_hot(y, len(trainer.labels)).float()
    assert float(trainer._loss(sure, x, y, w, trainer.taught[:8])) > 1.0  # taught, not the labels, is the target
    assert float(trainer._loss(sure, x, y, w, sure)) == pytest.approx(0.0, abs=1e-5)
    assert Trainer(replace(settings, teacher_reads="augmented")).taught is None
    with pytest.raises(ModelError, match="--teacher-reads"):
        Trainer(replace(settings, teacher_reads="sometimes"))


def test_error_weights_grow_with_the_calibrated_chance_the_model_missed() -> None:
    logits = torch.tensor([[4.0, 0.0], [0.0, 0.0], [0.0, 4.0]])
    y = torch.tensor([0, 0, 0])
    w = error_weights(logits, y, 1.0, 2.0)
    assert float(w.mean()) == pytest.approx(1.0) and w[0] < w[1] < w[2]
    p = torch.softmax(logits, 1)[:, 0]
    assert torch.allclose(w / w[1], (1 + 2 * (1 - p)) / 2.0)
    sharper = error_weights(logits, y, 0.5, 2.0)  # a lower temperature makes the model surer: right ones weigh less
    assert sharper[0] < w[0] and sharper[2] > w[2]


def test_boosting_weights_the_faces_the_model_gets_wrong(trained: Path, data: Path, tmp_path: Path) -> None:
    settings = TrainSettings(data=data, out=tmp_path / "b.safetensors", batch_size=8, boost_from=trained,
                             boost=3.0, progress=False)
    plain = Trainer(replace(settings, boost_from=None))
    boosted = Trainer(settings)
    model, meta = load_model(trained)
    with torch.inference_mode():
        logits = model(boosted.train.x.float() / 255)
    right = torch.softmax(logits / meta.temperature, 1).gather(1, boosted.train.y[:, None]).squeeze(1)
    ratio = boosted.face_weights / plain.face_weights
    assert float(ratio.std()) > 0
    assert torch.argmax(ratio) == torch.argmin(right) and torch.argmin(ratio) == torch.argmax(right)
    assert boosted.plan["boost_from"] == str(trained) and "boost_from" not in plain.plan
    with pytest.raises(ModelError, match="--boost"):
        Trainer(replace(settings, boost=0.0))


def test_train_distils_a_joined_model_and_resumes_only_with_the_same_teacher(
        trained: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mirrored = tmp_path / "mirrored.safetensors"
    assert cli.main(["combine", str(trained), "--val", str(data / "val"), "--out", str(mirrored)]) == 0
    out = tmp_path / "student.safetensors"
    args = [*train_args(data, out, 1), "--init", str(trained), "--teacher", str(mirrored), "--distill", "0.7"]
    assert cli.main(args) == 0
    meta = read_meta(out)
    assert meta.arch == "facenet48" and meta.extra["settings"]["teacher"] == str(mirrored)
    assert ExpressionClassifier(out).predict([faceset.crops()["astronaut"]])[0].label in LABELS
    assert cli.main([*train_args(data, out, 1), "--init", str(trained)]) == 2  # its checkpoint had a teacher
    assert "--teacher" in capsys.readouterr().err
    once = tmp_path / "once.safetensors"
    assert cli.main([*train_args(data, once, 1), "--init", str(trained), "--teacher", str(mirrored),
                     "--teacher-reads", "original"]) == 0
    assert read_meta(once).extra["settings"]["teacher_reads"] == "original"
    assert cli.main([*train_args(data, once, 1), "--init", str(trained), "--teacher", str(mirrored)]) == 2
    boosted = tmp_path / "boosted.safetensors"
    assert cli.main([*train_args(data, boosted, 1), "--init", str(trained), "--boost-from", str(mirrored),
                     "--boost", "1.5"]) == 0
    assert read_meta(boosted).extra["settings"]["boost"] == "1.5"
    assert cli.main([*train_args(data, boosted, 1), "--init", str(trained)]) == 2  # its plan had the booster


def test_train_refuses_a_teacher_with_other_labels(trained: Path, data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    net, meta = load_model(trained)
    other = tmp_path / "other.safetensors"
    save_model(net, replace(meta, labels=["anger", "happy", "sad"]), other)
    assert cli.main([*train_args(data, tmp_path / "s.safetensors", 1), "--teacher", str(other)]) == 2
    err = capsys.readouterr().err
    assert "teacher" in err and "['anger', 'happy', 'sad']" in err


def test_group_loss_is_the_binary_cross_entropy_of_the_groups_summed_probability() -> None:
    logits, group = torch.randn(6, 4), torch.tensor([True, False, True, False])
    p = torch.softmax(logits, 1)[:, group].sum(1)
    assert torch.allclose(group_log_odds(logits, group), torch.log(p / (1 - p)), atol=1e-5)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    expected = F.binary_cross_entropy(p, group[y].float(), reduction="none")
    assert torch.allclose(group_loss(logits, y, group), expected, atol=1e-5)
    swapped = logits[:, [2, 1, 0, 3]]  # which negative label it is does not matter, only negative or not
    assert torch.allclose(group_loss(swapped, y, group), expected, atol=1e-5)


def test_negative_weight_adds_the_negative_or_not_loss(data: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    settings = TrainSettings(data=data, out=tmp_path / "n.safetensors", batch_size=8, negative_weight=2.0,
                             progress=False)
    both, labels_only = Trainer(settings), Trainer(replace(settings, negative_weight=0.0))
    x, y, w = both.train.x[:8].float() / 255, both.train.y[:8], torch.ones(8)
    logits = torch.randn(8, 3)
    negative = torch.tensor([label == "sad" for label in LABELS])
    extra = 2.0 * group_loss(logits, y, negative).mean()
    assert float(both._loss(logits, x, y, w)) == pytest.approx(float(labels_only._loss(logits, x, y, w) + extra))
    assert cli.main([*train_args(data, tmp_path / "m.safetensors", 1), "--negative-weight", "-1"]) == 2
    assert "--negative-weight must be positive" in capsys.readouterr().err


def conv_dtypes_of_one_epoch(trainer: Trainer) -> set[torch.dtype]:
    seen: set[torch.dtype] = set()
    first_conv = next(m for m in trainer.net.modules() if isinstance(m, torch.nn.Conv2d))
    hook = first_conv.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype))
    try:
        trainer.train_epoch()
    finally:
        hook.remove()
    return seen


def test_bf16_precision_runs_the_training_convolutions_in_bfloat16_on_the_cpu(data: Path, tmp_path: Path) -> None:
    settings = TrainSettings(data=data, out=tmp_path / "b.safetensors", batch_size=8, progress=False)
    assert conv_dtypes_of_one_epoch(Trainer(replace(settings, precision="bf16"))) == {torch.bfloat16}
    assert conv_dtypes_of_one_epoch(Trainer(settings)) == {torch.float32}  # auto: fp32 on the CPU


def test_train_with_bf16_precision_saves_an_fp32_model_that_serves(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.safetensors"
    assert cli.main([*train_args(data, out, 1), "--precision", "bf16"]) == 0
    assert {t.dtype for t in load_file(str(out)).values()} <= {torch.float32, torch.int64}
    assert read_meta(out).extra["settings"]["precision"] == "bf16"
    assert ExpressionClassifier(out).predict([faceset.crops()["astronaut"]])[0].label in LABELS


def test_autocast_follows_the_precision_and_refuses_an_unknown_one() -> None:
    assert [autocast_bf16(p, "cpu") for p in ("auto", "fp32", "bf16")] == [False, False, True]
    assert [autocast_bf16(p, "cuda:0") for p in ("auto", "fp32", "bf16")] == [True, False, True]
    with pytest.raises(ModelError, match="unknown precision 'fp16'"):
        autocast_bf16("fp16", "cpu")


def test_keep_last_saves_the_last_epochs_weights_whatever_validation_says(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "last.safetensors"
    assert cli.main([*train_args(data, out, 3), "--keep", "last", "--lr", "0.05"]) == 0
    meta, last = read_meta(out), torch.load(out.with_suffix(".ckpt"), weights_only=True)["net"]
    assert meta.extra["kept_epoch"] == meta.extra["epochs_run"] == 3
    saved = load_file(str(out))
    assert all(torch.equal(saved[k], v) for k, v in last.items())
    with pytest.raises(ModelError, match="unknown --keep 'first'"):
        Trainer(TrainSettings(data=data, out=out, keep="first"))


def test_init_from_a_model_trained_with_the_same_seed_warns_that_the_draws_repeat(
        trained: Path, data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = TrainSettings(data=data, out=tmp_path / "next.safetensors", batch_size=8, init=trained, seed=3,
                             progress=False)  # `trained` was trained with --seed 3
    Trainer(settings)
    assert "trained with --seed 3: this run replays its shuffling" in caplog.text
    caplog.clear()
    Trainer(replace(settings, seed=4))
    assert "replays" not in caplog.text
    once, twice = tmp_path / "once.safetensors", tmp_path / "twice.safetensors"
    assert cli.main(["combine", str(trained), "--val", str(data / "val"), "--out", str(once)]) == 0
    assert cli.main(["combine", str(once), "--val", str(data / "val"), "--out", str(twice)]) == 0
    caplog.clear()
    Trainer(replace(settings, init=twice))  # its member records nest; the network's seed is two levels down
    assert "trained with --seed 3" in caplog.text


def test_the_train_commands_choices_are_the_ones_training_knows() -> None:
    """The parser lists them itself (it does not import torch); they must not drift from the worker's names."""
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    choices = {a.dest: set(a.choices) for a in sub.choices["train"]._actions if a.choices}
    assert {k: choices[k] for k in ("arch", "augment", "schedule", "precision", "keep")} == {
        "arch": set(TRAINABLE), "augment": set(PRESETS), "schedule": set(SCHEDULES), "precision": set(PRECISIONS),
        "keep": set(KEEPS)}
    assert {a.dest: set(a.choices) for a in sub.choices["combine"]._actions if a.choices} == {"storage": set(STORAGE)}
