from pathlib import Path

import pytest

from agegender import labels
from agegender.datasets import adience
from conftest import ADIENCE_FOLDS, shared_path

FOLDS = ADIENCE_FOLDS  # the hand-written fold files (see conftest)


def test_fixture_reproduces_messy_cases_and_crlf():
    assert b"\r\n" in (FOLDS / "fold_0_data.txt").read_bytes()
    m = adience.load(FOLDS)
    assert len(m) == 13
    c = m.drops.counts
    assert c["age missing (None)"] == 1
    assert c["gender unknown (u)"] == 1
    assert c["gender missing (empty)"] == 1
    assert c["duplicate image (same labels, counted once)"] == 1
    assert c["malformed line (too few columns)"] == 1
    assert c["non-standard age '(25, 23)'"] == 1 and c["non-standard age '35'"] == 1
    assert m.drops.examples["malformed line (too few columns)"][0].startswith("fold_1_data.txt:6")
    # no carriage return leaks into any value
    assert all("\r" not in r.path and "\r" not in r.key for r in m)


def test_lenient_mode_maps_the_published_table():
    m = adience.load(FOLDS, mode="lenient")
    by_img = {r.key.split("/")[-1]: labels.AGE_GROUPS[r.age_group] for r in m}
    assert by_img["a3_o.jpg"] == "25-32"   # (25, 23)
    assert by_img["c1_o.jpg"] == "38-43"   # (38, 42)
    assert by_img["c2_o.jpg"] == "25-32"   # (27, 32)
    assert by_img["c3_o.jpg"] == "38-43"   # 35: tie between 32 and 38 → older
    assert by_img["e1_o.jpg"] == "38-43"   # (38, 48)
    assert by_img["e2_o.jpg"] == "4-6"     # 3: tie → older
    assert by_img["e3_o.jpg"] == "60+"     # 57 nearer 60 than 53
    assert by_img["e4_o.jpg"] == "15-20"   # 22 nearer 20 than 25
    assert "c4_o.jpg" not in by_img        # (8, 23) dropped
    assert m.drops.counts["age range spans two groups equally"] == 1
    assert len(m) == 13 + 8


def test_layouts_give_the_download_paths():
    r = next(r for r in adience.load(FOLDS) if r.key.endswith("a1_o.jpg"))
    assert r.path == "aligned/111@N01/landmark_aligned_face.1.a1_o.jpg"
    r = next(r for r in adience.load(FOLDS, layout="faces") if r.key.endswith("a1_o.jpg"))
    assert r.path == "faces/111@N01/coarse_tilt_aligned_face.1.a1_o.jpg"
    assert (r.subject, r.fold) == ("111@N01", 0)


def test_seed_views_are_consistent():
    m = adience.load(FOLDS, images_root="/data/adience")
    per_image = m.age_gender_per_image()
    one_hot = m.one_hot_labels()
    assert set(per_image) == set(one_hot) and len(per_image) == 13
    for p, (a, g) in per_image.items():
        assert p.startswith("/data/adience/aligned/")
        assert labels.from_two_hot(one_hot[p]) == (a, g)
    paths, y = m.arrays("two_hot")
    assert y.shape == (13, 10) and paths == list(per_image)
    _, t = m.arrays("tuple")
    assert t.shape == (13, 2)


def test_missing_fold_file_is_one_clear_error(tmp_path):
    for k in range(4):
        (tmp_path / f"fold_{k}_data.txt").write_text((FOLDS / f"fold_{k}_data.txt").read_text())
    with pytest.raises(FileNotFoundError, match="fold_4_data.txt"):
        adience.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        adience.load(tmp_path / "nope")


def test_wrong_header_names_file_and_line(tmp_path):
    for k in range(5):
        (tmp_path / f"fold_{k}_data.txt").write_text("a\tb\tc\n1\t2\t3\n")
    with pytest.raises(ValueError, match=r"fold_0_data.txt:1: not an Adience fold file"):
        adience.load(tmp_path)


def test_missing_images_reported_not_fatal(tmp_path):
    m = adience.load(FOLDS, images_root=tmp_path)
    one = next(iter(m))
    one.full_path.parent.mkdir(parents=True)
    one.full_path.write_bytes(b"x")
    missing = m.check_images()
    assert len(missing) == 12 and one not in missing


def _write_lists(base: Path, manifest, skip_key: str | None = None) -> None:
    for k in range(5):
        d = base / f"test_fold_is_{k}"
        d.mkdir(parents=True)
        for task in ("age", "gender"):
            lines = {"train": [], "val": [], "test": []}
            for r in manifest:
                if r.key == skip_key and task == "age":
                    continue
                user, face, img = r.key.split("/")
                cls = r.age_group if task == "age" else r.gender
                lines["test" if r.fold == k else "train"].append(f"{user}/landmark_aligned_face.{face}.{img} {cls}")
            for split, ls in lines.items():
                (d / f"{task}_{split}.txt").write_text("\n".join(ls) + "\n")


def test_fold_lists_agree_or_report_difference(tmp_path):
    m = adience.load(FOLDS)
    _write_lists(tmp_path / "ok", m)
    rep = adience.compare_fold_lists(m, tmp_path / "ok")
    assert rep.images == 13 and not rep.only_in_fold_files and not rep.label_conflicts and not rep.fold_conflicts
    skip = m.records[0].key
    _write_lists(tmp_path / "short", m, skip_key=skip)
    rep = adience.compare_fold_lists(m, tmp_path / "short")
    assert rep.only_in_fold_files == [skip]
    assert any("missing 1" in line for line in rep.lines())


def test_real_fold_files_give_the_published_unified_dataset():
    folds = shared_path("data", "adience", "Folds")
    m = adience.load(folds)
    s = m.stats()
    assert s["images"] == 16156 and s["male"] == 7661 and s["female"] == 8495
    expected = {"0-2": (716, 681), "4-6": (909, 1230), "8-13": (929, 1188), "15-20": (733, 907),
                "25-32": (2304, 2575), "38-43": (1239, 1054), "48-53": (392, 433), "60+": (439, 427)}
    for group, (male, female) in expected.items():
        assert (s["by_age_gender"][group]["m"], s["by_age_gender"][group]["f"]) == (male, female)
    assert m.drops.counts["duplicate image (same labels, counted once)"] == 102
    rep = adience.compare_fold_lists(m, folds)
    assert not rep.label_conflicts and not rep.fold_conflicts
    # each test_fold_is_k folder's train+val+test lists cover 16,155 of them (a different image missing each)
    assert [n for n, _ in rep.per_folder.values()] == [16155] * 5
    assert all(len(missing) == 1 for _, missing in rep.per_folder.values())
