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
