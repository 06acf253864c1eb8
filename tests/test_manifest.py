import json

import pytest

from agegender import manifest as mf
from agegender.datasets import adience
from agegender.manifest import Manifest, Record
from conftest import ADIENCE_FOLDS


def test_csv_round_trip_keeps_every_field(tmp_path):
    recs = [
        Record(path="a.jpg", source="utkface", key="a", root="/r", age_group=3, gender=1, age_years=17.0, race="asian"),
        Record(path="male/b.jpg", source="celeba-gender", key="b", gender=0),  # no age: stays empty
        Record(path="x/c.jpg", source="adience", key="c", subject="u1", fold=2, age_group=0, gender=0),
    ]
    out = mf.write(Manifest(recs), tmp_path / "m.csv")
    back = mf.read(out)
    assert back.records == recs
    assert "celeba-gender,b,,,,m,," in out.read_text() and ",17,asian" in out.read_text()
    summary = json.loads(mf.summary_path(out).read_text())
    assert summary["images"] == 3 and summary["labelled_both"] == 2 and summary["by_source"]["utkface"] == 1


def test_sample_draws_rows_at_random_in_their_order(tmp_path, capsys):
    from agegender.cli import main

    recs = [Record(path=f"{i}.jpg", source="utkface", key=f"k{i:03d}", age_group=i % 8, gender=i % 2) for i in range(200)]
    m = mf.sample(Manifest(recs), 50, seed=3)
    keys = [r.key for r in m.records]
    assert len(set(keys)) == 50 and keys == sorted(keys)  # no repeats, the manifest's order
    assert keys != [r.key for r in recs[:50]] and max(keys) > "k150"  # not the first rows
    assert [r.key for r in mf.sample(Manifest(recs), 50, seed=3).records] == keys  # the seed decides
    assert [r.key for r in mf.sample(Manifest(recs), 50, seed=4).records] != keys
    assert mf.sample(Manifest(recs), 500).records == recs  # all when it has no more
    mf.write(Manifest(recs), tmp_path / "m.csv")
    assert main(["data", "sample", str(tmp_path / "m.csv"), "20", "--out", str(tmp_path / "s.csv")]) == 0
    assert len(mf.read(tmp_path / "s.csv").records) == 20 and "sample: 20 of 200 rows" in capsys.readouterr().out


def test_split_keeps_each_subject_in_one_part_whatever_the_order(tmp_path, capsys):
    """Half of an extra set trains, the other half is only ever tested on: the halves must be the same on
    every machine and after any merge (no row order, no seed), and a subject's photos never on both sides."""
    import hashlib

    from agegender.cli import main

    recs = [Record(path=f"{i}.jpg", source="celeba-gender", key=f"k{i:03d}", gender=i % 2) for i in range(300)]
    recs += [Record(path=f"s{i}.jpg", source="adience", key=f"s{i:03d}", subject=f"u{i % 7}", gender=0) for i in range(70)]
    halves = [mf.split_part(Manifest(recs), 2, k) for k in (0, 1)]
    assert sorted(r.key for h in halves for r in h.records) == sorted(r.key for r in recs)  # each row once
    assert all(0.35 < len(h) / len(recs) < 0.65 for h in halves)
    for k, h in enumerate(halves):  # the key's hash picks the part of a row without a subject (as the CelebA
        for r in h.records:         # study's halves were made), the subject's for the others
            assert int(hashlib.sha256((r.subject or r.key).encode()).hexdigest(), 16) % 2 == k
    assert {r.subject for r in halves[0].records if r.subject}.isdisjoint({r.subject for r in halves[1].records if r.subject})
    shuffled = Manifest(recs[::-1])
    assert {r.key for r in mf.split_part(shuffled, 2, 1).records} == {r.key for r in halves[1].records}
    assert sum(len(mf.split_part(Manifest(recs), 3, k)) for k in range(3)) == len(recs)
    mf.write(Manifest(recs), tmp_path / "m.csv")
    assert main(["data", "split", str(tmp_path / "m.csv"), "1", "--out", str(tmp_path / "b.csv")]) == 0
    assert [r.key for r in mf.read(tmp_path / "b.csv").records] == [r.key for r in halves[1].records]
    assert f"split: part 1 of 2 by subject hash ({len(halves[1])} of 370 rows)" in capsys.readouterr().out
    assert main(["data", "split", str(tmp_path / "m.csv"), "2", "--out", str(tmp_path / "c.csv")]) != 0  # no part 2 of 2
    assert "part 2 is not one of 0…1" in capsys.readouterr().err


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    m = adience.load(ADIENCE_FOLDS)
    back = mf.read(mf.write(m, tmp_path / "m.parquet"))
    assert back.records == m.records
    assert back.drops.counts == m.drops.counts


def test_failed_write_leaves_no_partial_file(tmp_path):
    class Boom(Record):
        def to_row(self):
            raise RuntimeError("disk full")

    good = tmp_path / "m.csv"
    mf.write(Manifest([Record(path="a", source="s", key="a")]), good)
    before = good.read_text()
    with pytest.raises(RuntimeError):
        mf.write(Manifest([Record(path="a", source="s", key="a"), Boom(path="b", source="s", key="b")]), good)
    assert good.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "m.summary.json"]


def test_bad_rows_name_file_and_line(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("path,root,source,key,subject,fold,age_group,gender,age_years\na,,s,a,,,25-32,m,\nb,,s,b,,,70-80,m,\n")
    with pytest.raises(mf.ManifestError, match=r"m.csv:3: unknown age group '70-80'"):
        mf.read(p)
    p.write_text("path,root,source,key\na,,s,a\nsome words, not a row\n")     # fields short of the source
    with pytest.raises(mf.ManifestError, match=r"m.csv:3: no source \(a row cut short"):
        mf.read(p)
    p.write_text("path,root,source,key\n,,s,a\n")
    with pytest.raises(mf.ManifestError, match=r"m.csv:2: no path"):
        mf.read(p)
    (tmp_path / "x.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(mf.ManifestError, match="not a manifest"):
        mf.read(tmp_path / "x.csv")


def test_report_styles():
    m = adience.load(ADIENCE_FOLDS)
    text = mf.report(m)
    assert "13 images" in text and "dropped 14" in text
    md = mf.report(m, "markdown")
    assert md.splitlines()[1].startswith("|---")
    assert mf.report(m, "csv").splitlines()[-1] == "total,6,7,0,13"
