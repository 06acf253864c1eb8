"""Each extra loader on a fixture written in that dataset's own format."""

import bz2
import io

import numpy as np
import pytest
from PIL import Image

from agegender import manifest as mf
from agegender import splits
from agegender.cli import main
from agegender.datasets import adience, extra
from conftest import ADIENCE_FOLDS


def _img(path, fmt="JPEG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(np.random.default_rng(len(str(path))).integers(0, 255, (24, 20, 3), dtype=np.uint8))
    if path.name.endswith(".bz2"):
        buf = io.BytesIO()
        im.save(buf, "PPM")
        path.write_bytes(bz2.compress(buf.getvalue()))
    else:
        im.save(path, fmt)


def test_cfd_v2_workbook(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "CFD 2.0.3 Norming Data"
    for _ in range(4):
        ws.append(["Chicago Face Database norming data"])  # title rows above the header (row 5)
    ws.append(["Target", "Race", "Gender", "Age", "Attractive"])
    ws.append(["AF-200", "A", "F", 27.4, 3.1])
    ws.append(["WM-001", "W", "M", 61.0, 2.5])
    ws.append(["BF-010", "B", "F", 35.0, 4.0])   # gap age: kept for gender
    ws.append(["LM-020", "L", "X", 44.0, 3.0])   # unreadable gender
    ws.append(["AF-300", "A", "F", 22.0, 3.0])   # no image
    wb.save(tmp_path / "CFD 2.0.3 Norming Data and Codebook.xlsx")
    for name in ("AF-200/CFD-AF-200-228-N.jpg", "AF-200/CFD-AF-200-228-HC.jpg", "WM-001/CFD-WM-001-014-N.jpg",
                 "BF-010/CFD-BF-010-002-N.jpg", "LM-020/CFD-LM-020-001-N.jpg", "XX-999/CFD-XX-999-001-N.jpg"):
        _img(tmp_path / "CFD 2.0.3 Images" / name)
    m = extra.load_cfd(tmp_path)
    by = {r.path.split("/")[-1]: r for r in m}
    assert len(m) == 5 and by["CFD-AF-200-228-HC.jpg"].subject == "AF-200"
    assert (by["CFD-AF-200-228-N.jpg"].age_group, by["CFD-AF-200-228-N.jpg"].gender) == (4, 1)
    assert by["CFD-WM-001-014-N.jpg"].age_group == 7 and by["CFD-BF-010-002-N.jpg"].age_group is None
    assert by["CFD-BF-010-002-N.jpg"].age_years == 35.0 and by["CFD-LM-020-001-N.jpg"].gender is None
    assert m.drops.counts["image without a norming row"] == 1 and m.drops.counts["norming row without an image"] == 1
    assert m.drops.counts["unreadable gender"] == 1 and "age rated (Age)" in m.notes[0]


def test_cfd_v3_sheets_with_model_header(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "CFD U.S. Norming Data"
    ws.append(["ID", "V1", "V2", "V3", "V4"])                        # variable ids
    ws.append(["Model", "EthnicitySelf", "GenderSelf", "AgeSelf", "AgeRated"])
    ws.append(["AM-201", "A", "M", 19, 24.3])
    wb.create_sheet("CFD-I INDIA Norming Data").append(["Model", "EthnicitySelf", "GenderSelf", "AgeRated"])
    wb["CFD-I INDIA Norming Data"].append(["IF601", "I", "F", 30.5])
    wb.create_sheet("CFD 3.0 Codebook").append(["Variable", "Meaning"])
    wb.save(tmp_path / "CFD 3.0 Norming Data and Codebook.xlsx")
    _img(tmp_path / "Images/CFD/AM-201/CFD-AM-201-001-N.jpg")
    _img(tmp_path / "Images/CFD-INDIA/IF601/CFD-IF601-519-N.jpg")
    m = extra.load_cfd(tmp_path)
    by = {r.subject: r for r in m}
    assert by["AM-201"].age_years == 19 and by["AM-201"].age_group == 3      # self-reported age preferred
    assert by["IF601"].age_years == 30.5 and by["IF601"].gender == 1       # rated where no AgeSelf
    assert any("no Target/Model header" in n for n in m.notes)
    assert extra.load_cfd(tmp_path, age="rated").records[0].age_years == 24.3


def test_feret_name_value_and_xml(tmp_path):
    gt = tmp_path / "dvd1/data/ground_truths"
    (gt / "name_value/00001").mkdir(parents=True)
    (gt / "name_value/00001/00001.txt").write_text("id=cfrS00001\ngender=Male\nyob=1943\nrace=White\n")
    (gt / "name_value/00002").mkdir(parents=True)
    (gt / "name_value/00002/00002.txt").write_text("race=Asian\nid=cfrS00002\nyob=1970\ngender=Female\n")  # any order
    # a per-recording file in the subject's folder: must not be taken for a subject
    (gt / "name_value/00002/00002_940128_fb.txt").write_text("id=cfrR00004\nsubject=cfrS00002\ncapture_date=01/28/1994\n")
    (gt / "xml/00003").mkdir(parents=True)
    (gt / "xml/00003/00003.xml").write_text('<Subject id="cfrS00003"><Gender value="Female"/><YOB value="1980"/></Subject>')
    imgs = tmp_path / "dvd1/data/images"
    for name in ("00001/00001_930831_fa.ppm.bz2", "00001/00001_930831_pl_a.ppm.bz2", "00002/00002_940128_fb.ppm.bz2",
                 "00003/00003_960530_fa.ppm.bz2", "00004/00004_940128_fa.ppm.bz2", "00002/bad-name.ppm.bz2"):
        _img(imgs / name)
    _img(tmp_path / "dvd1/data/thumbnails/00001/00001_930831_fa.ppm.bz2")
    m = extra.load_feret(tmp_path)
    by = {r.path.split("/")[-1]: r for r in m}
    assert set(by) == {"00001_930831_fa.ppm.bz2", "00001_930831_pl_a.ppm.bz2", "00002_940128_fb.ppm.bz2", "00003_960530_fa.ppm.bz2"}
    assert by["00001_930831_fa.ppm.bz2"].age_years == 50 and by["00001_930831_fa.ppm.bz2"].age_group == 6
    assert by["00002_940128_fb.ppm.bz2"].age_years == 24 and by["00002_940128_fb.ppm.bz2"].age_group is None
    assert by["00003_960530_fa.ppm.bz2"].gender == 1 and by["00003_960530_fa.ppm.bz2"].age_years == 16
    assert m.drops.counts["image of a subject without ground truth"] == 1 and m.drops.counts["malformed image name"] == 1
    from agegender.imaging import load_image

    assert load_image(tmp_path / "dvd1/data/images" / "00001/00001_930831_fa.ppm.bz2").shape == (24, 20, 3)


def test_kdef(tmp_path):
    for name in ("AF01/AF01ANS.JPG", "AF01/AF01HAFL.JPG", "BM35/BM35SUHR.JPG", "AF01/readme.jpg"):
        _img(tmp_path / "KDEF" / name)
    m = extra.load_kdef(tmp_path / "KDEF")
    assert sorted((r.subject, r.gender, r.age_group) for r in m) == [("F01", 1, None), ("F01", 1, None), ("M35", 0, None)]
    assert m.drops.counts["name does not follow the KDEF code"] == 1
    assert len(extra.load_kdef(tmp_path / "KDEF", frontal_only=True)) == 1


def test_facetracer(tmp_path):
    (tmp_path / "facelabels.txt").write_text(
        "# face_id\tattribute\tlabel\n1\tgender\tmale\n1\tage\tsenior\n2\tgender\tfemale\n2\tage\tyouth\n"
        "3\tage\tbaby\n4\tgender\tmale\nbroken line\n")
    for fid in (1, 2, 3):
        _img(tmp_path / "img" / f"{fid}.jpg")
    m = extra.load_facetracer(tmp_path, tmp_path / "img")
    assert sorted((r.subject, r.gender, r.age_group) for r in m) == [("1", 0, None), ("2", 1, None)]
    assert m.drops.counts["labelled face without a downloaded image"] == 1 and m.drops.counts["malformed label line"] == 1
    coarse = {r.subject: r.age_group for r in extra.load_facetracer(tmp_path, tmp_path / "img", coarse_age=True)}
    assert coarse == {"1": 7, "2": None, "3": 0}


def test_pal_csv_and_pattern(tmp_path):
    for name in ("F_23_neutral.jpg", "M_71_happy.jpg", "odd.jpg"):
        _img(tmp_path / "pal" / name)
    (tmp_path / "labels.csv").write_text("file,age,gender\nF_23_neutral.jpg,23,F\nM_71_happy.jpg,71,male\nmissing.jpg,40,f\n")
    m = extra.load_pal(tmp_path / "pal", labels_csv=tmp_path / "labels.csv")
    assert sorted((r.age_years, r.gender, r.age_group) for r in m) == [(23.0, 1, None), (71.0, 0, 7)]
    assert m.drops.counts["listed image missing"] == 1
    m = extra.load_pal(tmp_path / "pal", pattern=r"(?P<gender>[MF])_(?P<age>\d+)")
    assert len(m) == 2 and m.drops.counts["name does not match the pattern"] == 1
    with pytest.raises(ValueError, match="exactly one"):
        extra.load_pal(tmp_path / "pal")


def test_merge_deduplicates_and_never_leaks_into_adience_test_folds(tmp_path, capsys):
    a = adience.load(ADIENCE_FOLDS)
    for name in ("AF01/AF01ANS.JPG", "BM02/BM02HAS.JPG"):
        _img(tmp_path / "KDEF" / name)
    k = extra.load_kdef(tmp_path / "KDEF")
    pa, pk = mf.write(a, tmp_path / "a.csv"), mf.write(k, tmp_path / "k.csv")
    assert main(["data", "merge", str(pa), str(pk), str(pk), "--out", str(tmp_path / "all.csv")]) == 0
    out = capsys.readouterr().out
    assert "by source: adience 13, kdef 2" in out and "duplicate (same source and key)" in out
    merged = mf.read(tmp_path / "all.csv")
    assert len(merged) == 15
    for fold in range(5):
        sp = splits.adience_fold(merged.records, fold)
        assert all(merged.records[i].source == "adience" for i in sp.test)
        assert not splits.subjects_overlap(merged.records, np.r_[sp.train, sp.val], sp.test)


def _fairface_tree(root, rows, images):
    """A FairFace download's layout: the label CSVs beside ``val/`` (and ``train/``) image folders."""
    for name in images:
        _img(root / name)
    (root / "fairface_label_val.csv").write_text("file,age,gender,race,service_test\n" + "".join(r + "\n" for r in rows))
    (root / "fairface_label_train.csv").write_text("file,age,gender,race,service_test\ntrain/1.jpg,3-9,Male,Indian,False\n")


def test_fairface_bins_races_and_bad_rows(tmp_path, capsys):
    root = tmp_path / "FairFace"
    _fairface_tree(root, [
        "val/1.jpg,0-2,Female,East Asian,True", "val/2.jpg,3-9,Male,Black,False", "val/3.jpg,20-29,Female,Latino_Hispanic,True",
        "val/4.jpg,more than 70,Male,Middle Eastern,False", "val/5.jpg,60-69,Female,Southeast Asian,True",
        "val/6.jpg,ten,Male,Indian,False", "val/7.jpg,30-39,unknown,White,False", "val/8.jpg,40-49,Male,Martian,False",
        "val/missing.jpg,20-29,Male,White,False", "val/1.jpg,0-2,Female,East Asian,True", "../secret.jpg,20-29,Male,White,False",
        "val/9.jpg,??,??,White,False"], [f"val/{i}.jpg" for i in (*range(1, 10), 99)] + ["train/1.jpg"])
    m = extra.load_fairface(root)
    got = [(r.path, r.age_group, r.gender, r.race, r.age_range) for r in m]
    assert got == [("val/1.jpg", 0, 1, "east_asian", (0, 2)), ("val/2.jpg", None, 0, "black", (3, 9)),
                   ("val/3.jpg", None, 1, "latino_hispanic", (20, 29)), ("val/4.jpg", 7, 0, "middle_eastern", (70, None)),
                   ("val/5.jpg", 7, 1, "southeast_asian", (60, 69)), ("val/6.jpg", None, 0, "indian", None),
                   ("val/7.jpg", None, None, "white", (30, 39)), ("val/8.jpg", None, 0, None, (40, 49))]
    assert dict(m.drops.counts) == {
        "unreadable age (kept for gender)": 1, "unreadable gender (kept for age)": 1, "unknown race label (kept without race)": 1,
        "listed image missing": 1, "repeated image (first row kept)": 1, "file outside the image folder": 1,
        "no usable label (age and gender unreadable)": 1, "image without a label row": 1}
    assert m.drops.examples["listed image missing"] == ["fairface_label_val.csv:10: val/missing.jpg"]
    assert m.drops.examples["image without a label row"] == ["val/99.jpg"]  # train/1.jpg is the other split's
    lenient = {r.path: r.age_group for r in extra.load_fairface(root, mode="lenient")}
    assert [lenient[f"val/{i}.jpg"] for i in (1, 2, 3, 4, 5, 7, 8)] == [0, 1, 4, 7, 7, 4, 5]  # 3-9 → 4-6, 20-29 and 30-39 → 25-32
    both = [r.path for r in extra.load_fairface(root, split="both")]
    assert both[0] == "train/1.jpg" and both[1:] == [r.path for r in m]
    assert main(["data", "fairface", str(root), "--out", str(tmp_path / "ff.csv")]) == 0
    out = capsys.readouterr().out
    assert "age_group only where one group holds the whole bin" in out
    assert "by age range: 0-2: 1, 3-9: 1, 20-29: 1, 30-39: 1, 40-49: 1, 60-69: 1, 70+: 1" in out
    assert "by race: black: 1, east_asian: 1, indian: 1, latino_hispanic: 1, middle_eastern: 1, southeast_asian: 1, white: 1" in out
    back = mf.read(tmp_path / "ff.csv")
    assert [(r.age_range, r.race, r.age_low) for r in back][:4] == [
        ((0, 2), "east_asian", 0.0), ((3, 9), "black", 3.0), ((20, 29), "latino_hispanic", 20.0), ((70, None), "middle_eastern", 70.0)]
    (root / "fairface_label_val.csv").write_text("file,age,gender\nval/1.jpg,0-2,Female\n")
    with pytest.raises(ValueError, match=r"fairface_label_val.csv:1: missing column\(s\) race"):
        extra.load_fairface(root)
    with pytest.raises(FileNotFoundError, match="no such label file"):
        extra.load_fairface(tmp_path)


def test_age_range_labels_and_the_youngest_age_they_allow(tmp_path):
    from agegender import labels

    bins = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]
    parsed = [labels.parse_age_range(b) for b in bins]
    assert [labels.format_age_range(r) for r in parsed] == [*bins[:-1], "70+"]
    assert [labels.age_group_within(r) for r in parsed] == [0, None, None, None, None, None, None, 7, 7]
    assert [labels.age_group_of_any_range(r) for r in parsed] == [0, 1, 3, 4, 4, 5, 6, 7, 7]
    assert [labels.parse_age_range(t) for t in ("9-3", "70", "", "٣-٩", "5-200", "70 +")] == [None] * 5 + [(70, None)]
    assert [mf.Record("a", "s", "a", age_years=31.0, age_range=(20, 29)).age_low, mf.Record("a", "s", "a", age_range=(20, 29)).age_low,
            mf.Record("a", "s", "a", age_group=3).age_low, mf.Record("a", "s", "a").age_low] == [31.0, 20.0, 15.0, None]
    (tmp_path / "m.csv").write_text("path,source,key,age_range\na.jpg,fairface,a,20-29\nb.jpg,fairface,b,twenty\n")
    with pytest.raises(mf.ManifestError, match=r"m.csv:3: age_range 'twenty' is not a range"):
        mf.read(tmp_path / "m.csv")


def test_range_scores_hand_checked():
    from agegender import evaluation

    age = np.eye(8)[[4, 3, 6, 0]]  # best guesses 25-32, 15-20, 48-53, 0-2
    years = np.zeros((4, 101))
    years[[0, 1, 2, 3], [29, 30, 75, 1]] = 1.0  # estimates 29, 30, 75, 1 years
    s = evaluation.range_scores(age, years, [(20, 29), (20, 29), (70, None), None])
    # in range: 29 in 20-29, 30 is not (ages count whole), 75 in 70+; overlaps: 25-32 and 15-20 share years with 20-29, 48-53 none with 70+
    assert s == {"n": 3, "years_in_range": pytest.approx(2 / 3), "group_overlaps": pytest.approx(2 / 3)}
    assert evaluation.range_scores(age, None, [(0, 2)] * 4)["years_in_range"] is None
    assert evaluation.range_scores(age, years, [None] * 4) is None


def test_evaluate_on_fairface_bins_by_race(tmp_path, utk_named_faces, capsys):
    """FairFace-format labels on real face crops (the bundled adult portrait): the rows labelled 0-2 are never
    in range and are no adults in the race comparison; the years-in-range share is the model's own estimates'."""
    import json
    import shutil

    from agegender import labels
    from agegender.predictor import Predictor

    root = tmp_path / "FairFace"
    (root / "val").mkdir(parents=True)
    races = ["White", "Black", "East Asian", "Indian"]
    rows = []
    for i, src in enumerate(sorted(utk_named_faces.iterdir())[:16]):
        shutil.copy(src, root / "val" / f"{i}.jpg")
        rows.append(f"val/{i}.jpg,{'0-2' if i % 4 == 0 else '30-39'},Female,{races[i % 4]},False")
    (root / "fairface_label_val.csv").write_text("file,age,gender,race,service_test\n" + "\n".join(rows) + "\n")
    assert main(["data", "fairface", str(root), "--out", str(tmp_path / "ff.csv")]) == 0
    feats = []
    for ex in ("dlibtrunk", "agnet", "faceres"):
        feats.append(str(tmp_path / f"{ex}.npz"))
        assert main(["features", str(tmp_path / "ff.csv"), "--extractor", ex, "--out", feats[-1], "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "src/agegender/data/model", "--manifest", str(tmp_path / "ff.csv"), "--features",
                 ",".join(feats), "--json", str(tmp_path / "e.json")]) == 0
    assert "**Age ranges**" in capsys.readouterr().out
    rep = json.loads((tmp_path / "e.json").read_text())
    ranges = rep["age_ranges"]
    assert ranges["all"]["n"] == 16 and ranges["white"] == {"n": 4, "years_in_range": 0.0, "group_overlaps": 0.0}
    assert set(rep["groups"]["ours"]["race, 15+"]["groups"]) == {"black", "east_asian", "indian"}
    from agegender import trainset

    data = trainset.load(tmp_path / "ff.csv", ",".join(feats))
    est, _ = labels.years_summary(Predictor.default().outputs(data.X)[2])
    adult = np.array([r.age_range == (30, 39) for r in data.records])
    assert ranges["all"]["years_in_range"] == pytest.approx(np.mean(adult & (est >= 30) & (est < 40)))


def test_any_labelled_csv_years_ranges_coded_genders_and_bad_rows(tmp_path, capsys):
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"):
        _img(tmp_path / "imgs" / name)
    (tmp_path / "gt.csv").write_text(
        "file_name;real_age;sex;ethnicity;person\na.jpg;35;1;Black;p1\nb.jpg;20-29;0;South Asian;p2\nc.jpg;;1;;p3\n"
        "d.jpg;abc;;White;p4\nnothere.jpg;3;0;White;p5\ne.jpg;2;2;White;p6\nb.jpg;28;0;White;p2\nf.jpg;70+;0;White;p7\n")
    assert main(["data", "csv", str(tmp_path / "gt.csv"), str(tmp_path / "imgs"), "--source", "appa", "--file-column", "file_name",
                 "--age-column", "real_age", "--gender-column", "sex", "--race-column", "ethnicity", "--subject-column", "person",
                 "--male", "0", "--female", "1", "--delimiter", ";", "--out", str(tmp_path / "m.csv")]) == 0
    m = mf.read(tmp_path / "m.csv")
    assert [(r.path, r.subject, r.age_years, r.age_range, r.age_group, r.gender, r.race) for r in m] == [
        ("a.jpg", "p1", 35.0, None, None, 1, "black"),  # 35: a gap age, its years and gender kept
        ("b.jpg", "p2", None, (20, 29), None, 0, "south_asian"), ("c.jpg", "p3", None, None, None, 1, None),
        ("e.jpg", "p6", 2.0, None, 0, None, "white"), ("f.jpg", "p7", None, (70, None), 7, 0, "white")]
    out = capsys.readouterr().out
    for line in ("1  no usable label (age and gender)   e.g. gt.csv:5: 'abc, '", "1  listed image missing   e.g. gt.csv:6: nothere.jpg",
                 "1  unreadable gender (kept for age)   e.g. gt.csv:7: '2'", "1  repeated image (first row kept)   e.g. gt.csv:8: b.jpg"):
        assert line in out
    # without --male/--female, 0 and 1 mean nothing: a set's own coding must be said
    plain = extra.load_labels_csv(tmp_path / "gt.csv", tmp_path / "imgs", "x", file="file_name", age="real_age", gender="sex", delimiter=";")
    assert [r.gender for r in plain] == [None] * 4 and plain.drops.counts["unreadable gender (kept for age)"] == 4  # c.jpg: nothing left
    with pytest.raises(ValueError, match="cannot mean both genders"):
        extra.load_labels_csv(tmp_path / "gt.csv", tmp_path / "imgs", "x", male=("0", "m"), female=("M",))
    with pytest.raises(ValueError, match=r"gt.csv:1: missing column\(s\) age, file, gender"):
        extra.load_labels_csv(tmp_path / "gt.csv", tmp_path / "imgs", "x", delimiter=";")
    (tmp_path / "gt.tsv").write_text("file\tage\tgender\na.jpg\t61\tfemale\n")
    assert [(r.age_group, r.gender) for r in extra.load_labels_csv(tmp_path / "gt.tsv", tmp_path / "imgs", "x", delimiter="\t")] == [(7, 1)]
