"""A person's review of labels applied to a manifest (`agegender data relabel`): what changes, what stays,
and every unusable review line named with its file and line."""

from __future__ import annotations

import pytest

from agegender import labels, relabel
from agegender import manifest as mf
from agegender.cli import main
from agegender.manifest import Manifest, Record


def _manifest() -> Manifest:
    return Manifest([
        Record(path="male/1.jpg", source="celeba", key="male/1.jpg", gender=0),
        Record(path="male/2.jpg", source="celeba", key="male/2.jpg", gender=0),
        Record(path="female/3.jpg", source="celeba", key="female/3.jpg", gender=1),
        Record(path="u/4.jpg", source="utk", key="u/4.jpg", gender=1, age_group=4, age_years=30.0),
        Record(path="u/5.jpg", source="utk", key="u/5.jpg", gender=0, age_group=2, age_years=10.0),
    ])


def test_review_replaces_keeps_and_drops(tmp_path):
    review = tmp_path / "review.csv"
    review.write_text("key,label,gender,age_group,note\n"
                      "male/1.jpg,m,f,,a woman\n"        # the folder was wrong
                      "male/2.jpg,m,?,,cannot tell\n"    # unclear: the data set's word stands
                      "female/3.jpg,f,f,,\n"             # looked at, right as it was
                      "u/4.jpg,f,,38-43,\n"              # the age group was wrong: the years go with it
                      "u/5.jpg,m,drop,,not a face\n"
                      "gone/6.jpg,m,f,,\n")              # not in this manifest (e.g. the other half)
    r = relabel.read_review(review)
    assert r.problems == [] and len(r.verdicts) == 6
    applied = relabel.apply(_manifest(), r)
    by_key = {rec.key: rec for rec in applied.manifest.records}
    assert list(by_key) == ["male/1.jpg", "male/2.jpg", "female/3.jpg", "u/4.jpg"]
    assert by_key["male/1.jpg"].gender == labels.GENDERS.index("f") and by_key["male/2.jpg"].gender == 0
    assert by_key["u/4.jpg"].age_group == labels.AGE_GROUPS.index("38-43") and by_key["u/4.jpg"].age_years is None
    assert by_key["u/4.jpg"].gender == 1
    assert (applied.changed_gender, applied.changed_age, applied.dropped, applied.confirmed) == (1, 1, 1, 2)
    assert applied.unknown_keys == ["gone/6.jpg"]
    assert "1 gender(s) and 1 age group(s) changed, 1 face(s) dropped" in applied.summary()
    assert "not in the manifest (e.g. gone/6.jpg)" in applied.summary()


def test_bad_review_lines_are_named_and_the_rest_still_count(tmp_path):
    review = tmp_path / "review.csv"
    review.write_text("key,gender\n"
                      "male/1.jpg,f\n"
                      "male/2.jpg,woman\n"      # not a gender code
                      ",f\n"                    # no key
                      "male/1.jpg,m\n"          # twice: the first line counts
                      "female/3.jpg,m\n")
    r = relabel.read_review(review)
    assert [p.split(": ", 1)[0] for p in r.problems] == [f"{review}:3", f"{review}:4", f"{review}:5"]
    assert "unknown gender 'woman'" in r.problems[0] and "? to keep the label" in r.problems[0]
    assert "no key" in r.problems[1] and "reviewed twice" in r.problems[2]
    assert set(r.verdicts) == {"male/1.jpg", "female/3.jpg"} and r.verdicts["male/1.jpg"].gender == 1


@pytest.mark.parametrize("content, message", [
    ("file,verdict\na.jpg,f\n", "needs a 'key' column and a 'gender' or 'age_group' column"),
    ("", "no header"),
])
def test_a_review_without_its_columns_is_refused(tmp_path, content, message):
    review = tmp_path / "review.csv"
    review.write_text(content)
    with pytest.raises(mf.ManifestError, match=message):
        relabel.read_review(review)


def test_cli_writes_the_relabelled_manifest_and_names_bad_files(tmp_path, capsys):
    src = mf.write(_manifest(), tmp_path / "m.csv")
    review = tmp_path / "review.csv"
    review.write_text("key,gender\nmale/1.jpg,f\nmale/2.jpg,x\n")
    assert main(["data", "relabel", str(src), str(review), "--out", str(tmp_path / "seen.csv")]) == 0
    cap = capsys.readouterr()
    assert f"{review}:3: male/2.jpg: unknown gender 'x'" in cap.err and "1 gender(s) and 0 age group(s) changed" in cap.out
    seen = {r.key: r for r in mf.read(tmp_path / "seen.csv").records}
    assert seen["male/1.jpg"].gender == 1 and seen["male/2.jpg"].gender == 0 and len(seen) == 5
    binary = tmp_path / "review.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00binary")
    assert main(["data", "relabel", str(src), str(binary), "--out", str(tmp_path / "x.csv")]) == 2
    assert f"{binary}: not a UTF-8 text file" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()
