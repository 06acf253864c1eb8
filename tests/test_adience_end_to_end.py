"""The Adience path end to end, without the real images: tree → manifest → features → adience-5fold."""

import json

import pytest

from agegender.cli import main

pytest.importorskip("keras")


def test_adience_tree_runs_the_5fold_protocol(tmp_path, utk_named_faces, capsys):
    tree = tmp_path / "adience"
    assert main(["data", "adience-sample", str(utk_named_faces), "--out", str(tree), "--n", "40", "--per-user", "2"]) == 0
    assert (tree / "Folds/original_txt_files/fold_4_data.txt").is_file()
    assert len(list((tree / "aligned").rglob("landmark_aligned_face.*.jpg"))) == 40
    assert len(list((tree / "faces").rglob("coarse_tilt_aligned_face.*.jpg"))) == 40
    man = tmp_path / "adience.csv"
    assert main(["data", "adience", str(tree / "Folds"), "--images", str(tree), "--check-images", "--out", str(man)]) == 0
    out = capsys.readouterr().out
    assert "40 images" in out and "40 found, 0 missing" in out
    feats = tmp_path / "agnet.npz"
    assert main(["features", str(man), "--extractor", "agnet", "--out", str(feats), "--quiet"]) == 0
    bench = tmp_path / "bench"
    args = ["benchmark", "adience-5fold", "--manifest", str(man), "--features", str(feats), "--out", str(bench),
            "--set", "train.epochs=2", "--set", "model.preset=logreg", "--quiet"]
    assert main(args + ["--folds", "0,1"]) == 0  # a benchmark stopped after two folds …
    first = json.loads((bench / "report.json").read_text())["folds"]
    model_0 = (bench / "fold_0" / "model.keras").stat().st_mtime_ns
    assert main(args) == 0                         # … started again: the finished folds are kept, not retrained
    report = json.loads((bench / "report.json").read_text())
    assert [r["fold"] for r in report["folds"]] == [0, 1, 2, 3, 4]
    assert (bench / "fold_0" / "model.keras").stat().st_mtime_ns == model_0
    assert [r["ours"] for r in report["folds"][:2]] == [r["ours"] for r in first]
    assert [r["seconds"] for r in report["folds"][:2]] == [r["seconds"] for r in first]
    capsys.readouterr()  # kept folds must have been trained with the same settings
    assert main(args + ["--set", "model.hidden=[4]"]) != 0
    assert "fold_0: the finished run was started with other settings (model.hidden" in capsys.readouterr().err
    assert all(r["test"] == 8 and r["peer"] is not None for r in report["folds"])
    assert report["summary"]["peer"]["gender"][0] >= 0
    assert (bench / "confusion.png").is_file() and "adience-5fold" in (bench / "report.md").read_text()
    # a stated target the arbitrary labels here cannot reach: said plainly, nothing written
    model = tmp_path / "model"
    model.mkdir()
    (model / "metadata.json").write_text((bench / "fold_0" / "metadata.json").read_text())
    capsys.readouterr()
    assert main(["bench", "thresholds", str(bench), "--target-joint", "0.9", "--write-model", str(model)]) != 0
    assert "--target-joint 0.9 is not reachable on the validation parts" in capsys.readouterr().err
    assert "joint" not in json.loads((model / "metadata.json").read_text())["thresholds"]


def test_undefined_rule_from_a_stated_target_is_measured_and_written(tmp_path, capsys):
    """bench thresholds on a real (small, learnable) benchmark: the one-threshold rule chosen on the
    folds' validation parts, its coverage and accuracy on the test folds, and --write-model."""
    from agegender.labels import Thresholds
    from training_data import learnable

    man, feats = learnable(tmp_path, n=800)
    bench = tmp_path / "bench"
    assert main(["benchmark", "utkface-a8", "--manifest", str(man), "--features", str(feats), "--out", str(bench),
                 "--set", "train.epochs=40", "--set", "model.preset=logreg", "--quiet"]) == 0
    model = tmp_path / "model"
    model.mkdir()
    (model / "metadata.json").write_text((bench / "fold_0" / "metadata.json").read_text())
    capsys.readouterr()
    assert main(["bench", "thresholds", str(bench), "--target-joint", "0.15", "--write-model", str(model)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "one threshold on p(age) × p(gender)" in line)
    answered, right = (float(c.strip().rstrip(" %")) for c in row.split("|")[3:5])
    assert 0 < answered <= 100 and right >= 15  # the synthetic heads are weak: few answers, right as often as asked
    t = Thresholds.from_metadata(json.loads((model / "metadata.json").read_text()))
    assert (t.age, t.gender) == (0.5, 0.5) and 0.25 <= t.joint <= 1 and f"{t.joint:g}" in out
    assert main(["bench", "thresholds", str(bench), "--target-joint", "0.15", "0.2", "--write-model", str(model)]) != 0
    assert main(["bench", "age-check", str(bench), "--write-model", str(model)]) == 0  # the same metadata, another part
    meta = json.loads((model / "metadata.json").read_text())
    assert len(meta["age_check"]) == 7 and meta["thresholds"]["joint"] == t.joint
    # bench compare on the real report: a run against itself differs by nothing, on all 5 folds, and its means
    # are the report's own
    capsys.readouterr()
    assert main(["bench", "compare", str(bench), str(bench), "--json"]) == 0
    [same] = json.loads(capsys.readouterr().out)
    summary = json.loads((bench / "report.json").read_text())["summary"]["ours"]
    assert same["folds"] == [0, 1, 2, 3, 4] and all(d in (0, None) for d in same["delta"].values())
    assert same["baseline"]["gender"] == pytest.approx(summary["gender"][0])
    assert same["baseline"]["exact"] == pytest.approx(summary["age_exact"][0])
    # … and face by face: a weaker candidate's fold 0, still "going" (its folder holds fold 0 only, no
    # report.json), predicts its test faces again; the paired faces' gain is the two reports' difference
    weak = tmp_path / "weak"
    assert main(["benchmark", "utkface-a8", "--manifest", str(man), "--features", str(feats), "--out", str(weak),
                 "--set", "train.epochs=2", "--set", "model.preset=logreg", "--folds", "0", "--quiet"]) == 0
    (weak / "report.json").unlink()
    capsys.readouterr()
    assert main(["bench", "compare", str(bench), str(weak), "--faces", "--json"]) == 0
    [faces] = json.loads(capsys.readouterr().out)["faces"]
    fold0 = json.loads((bench / "report.json").read_text())["folds"][0]["ours"]
    weak0 = json.loads((weak / "fold_0" / "metadata.json").read_text())["metrics"]["test"]
    assert faces["folds"] == [0] and faces["faces"]["gender"] == fold0["n_gender"]
    for metric, key in (("gender", "gender"), ("exact", "age_exact"), ("joint", "joint"), ("answered", "coverage")):
        assert faces["delta"][metric] == pytest.approx(100 * (weak0[key] - fold0[key]), abs=1e-6), metric
    assert faces["only_baseline_right"]["gender"] + faces["only_candidate_right"]["gender"] > 0
    assert 0 < faces["p"]["gender"] <= 1
    top = faces["right_on_most_confident"]
    assert list(top) == ["0.7", "0.8", "0.9"] and all(0 <= v <= 100 for t in top.values() for v in t.values())
    # label audit: each fold model's confident contradictions on its own test fold (the synthetic images
    # do not exist as files: grey cells in the sheets, no failure)
    capsys.readouterr()
    assert main(["bench", "audit", str(bench), "--out", str(tmp_path / "audit"), "--confidence", "0.6"]) == 0
    assert "test faces contradicted with ≥ 60 %" in capsys.readouterr().out
    import csv

    from agegender.benchmark import fold_predictions

    test = fold_predictions(bench)["test"]
    said = {k: (a, g) for k, a, g in zip(test["key"], test["age"], test["gender"])}
    rows = list(csv.DictReader((tmp_path / "audit" / "audit.csv").open()))
    assert rows and all(r["key"] in said and r["label"] != r["model_answer"] and float(r["confidence"]) >= 0.6 for r in rows)
    gender_rows = [r for r in rows if r["part"] == "gender"]
    assert all(said[r["key"]][1].max() == pytest.approx(float(r["confidence"]), abs=1e-4) for r in gender_rows)
