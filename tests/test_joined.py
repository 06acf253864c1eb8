"""agegender join: gender from one trained model, age from another, as one model (real training on small
learnable data, real exports)."""

import json

import numpy as np
import pytest

from agegender import export, joined, training, trainset
from agegender.cli import main
from training_data import learnable

pytest.importorskip("keras")


@pytest.fixture(scope="module")
def two_benchmarks(tmp_path_factory):
    """Two small benchmarks on the same data, folds 0-1: a plain one (gender source) and one with an age-only
    layer and a years head (age source)."""
    tmp = tmp_path_factory.mktemp("join")
    man, feats = learnable(tmp, n=800)
    common = ["benchmark", "utkface-a8", "--manifest", str(man), "--features", str(feats), "--folds", "0,1", "--quiet",
              "--set", "train.epochs=12", "--set", "train.learning_rate=0.01", "--set", "model.hidden=[16]"]
    assert main([*common, "--out", str(tmp / "G")]) == 0
    assert main([*common, "--set", "model.age_hidden=[8]", "--set", "model.dropout=0.1", "--out", str(tmp / "A")]) == 0
    return tmp, man, feats


def test_joined_benchmark_answers_gender_from_one_and_age_from_the_other(two_benchmarks, capsys):
    tmp, man, feats = two_benchmarks
    assert main(["join", str(tmp / "G"), str(tmp / "A"), "--out", str(tmp / "J"), "--quiet"]) == 0
    assert "joined 2 folds" in capsys.readouterr().out
    report = json.loads((tmp / "J" / "report.json").read_text())
    assert [r["fold"] for r in report["folds"]] == [0, 1] and report["joined"]["age"] == str(tmp / "A")
    data = trainset.load(str(man), str(feats))
    for k in (0, 1):
        reports = {r: json.loads((tmp / r / "report.json").read_text())["folds"][k]["ours"] for r in "GAJ"}
        assert reports["J"]["gender"] == reports["G"]["gender"] and reports["J"]["age_exact"] == reports["A"]["age_exact"]
        models = {r: training.load_run(tmp / r / f"fold_{k}")[0] for r in "GAJ"}
        probs = {r: training.predict_probs(m, data.X, "two_hot") for r, m in models.items()}
        assert np.allclose(probs["J"][1], probs["G"][1], atol=1e-6) and np.allclose(probs["J"][0], probs["A"][0], atol=1e-6)
        assert not np.allclose(probs["G"][0], probs["A"][0], atol=1e-3)   # the two really differ
        meta = json.loads((tmp / "J" / f"fold_{k}" / "metadata.json").read_text())
        assert meta["joined"] == {"gender": str(tmp / "G" / f"fold_{k}"), "age": str(tmp / "A" / f"fold_{k}")}
        assert meta["thresholds"]["chosen_on"] == "validation" and meta["metrics"]["test"]["gender"] == reports["G"]["gender"]
    # a joined run exports like any other, and the ONNX file answers as the two models did
    run = tmp / "J" / "fold_1"                                   # the last fold the loop read
    export.export(run, "onnx")
    assert max(export.check_agreement(run).values()) <= export.TOLERANCE
    onnx_out = export.run_onnx(run / "model.onnx", data.X[:50])
    assert np.allclose(onnx_out["gender"], probs["G"][1][:50], atol=1e-4)


def test_join_refuses_models_that_read_other_features_or_data(two_benchmarks, tmp_path, capsys):
    tmp, man, feats = two_benchmarks
    other_man, other_feats = learnable(tmp_path, n=800, dim=12, name="other")
    assert main(["train", "--set", f'data.manifest="{other_man}"', "--set", f'data.features="{other_feats}"',
                 "--set", "data.protocol=utkface-a8", "--set", "train.epochs=2", "--out", str(tmp_path / "R"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["join", str(tmp / "G" / "fold_0"), str(tmp_path / "R"), "--out", str(tmp_path / "J1")]) != 0
    err = capsys.readouterr().err
    assert "read different features" in err and str(tmp_path / "R") in err
    other = tmp_path / "B"
    assert main(["benchmark", "utkface-a8", "--manifest", str(other_man), "--features", str(other_feats), "--folds", "0",
                 "--set", "train.epochs=2", "--out", str(other), "--quiet"]) == 0
    with pytest.raises(ValueError, match="other data or splits"):
        joined.join_benchmark(tmp / "G", other, tmp_path / "J2", progress=False)
    with pytest.raises(SystemExit, match="two runs .* or two benchmark folders"):
        main(["join", str(tmp / "G"), str(tmp_path / "R"), "--out", str(tmp_path / "J3")])
