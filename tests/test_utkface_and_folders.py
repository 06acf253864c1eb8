import pytest

from agegender.datasets import gender_folders, utkface
from conftest import shared_path


@pytest.mark.parametrize(
    "name,expected",
    [
        ("26_1_0_20170104165609520.jpg.chip.jpg", (26, 1, "white")),
        ("24_0_1_20170116220224657 .jpg.chip.jpg", (24, 0, "black")),  # stray space, labels intact
        ("55_0_3_20170116232725357jpg.chip.jpg", (55, 0, "indian")),   # missing dot, labels intact
        ("61_3_20170109150557335.jpg.chip.jpg", "race missing"),
        ("61_1_20170109142408075.jpg.chip.jpg", "race missing"),
        ("39_2_0_20170116174525125.jpg.chip.jpg", "gender 2"),
        ("30_1_9_20170116174525125.jpg.chip.jpg", "race 9"),
        ("063429.jpg.jpg", "expected <age>"),
    ],
)
def test_parse_name(name, expected):
    got = utkface.parse_name(name)
    if isinstance(expected, tuple):
        assert got == expected
    else:
        assert isinstance(got, str) and expected in got


def test_load_reports_and_skips_malformed(tmp_path):
    names = ["26_1_0_20170104165609520.jpg.chip.jpg", "3_0_2_20161219140944855.jpg.chip.jpg",
             "61_3_20170109150557335.jpg.chip.jpg", "notes.txt", "sub/70_0_0_20170111204848471.jpg.chip.jpg"]
    for n in names:
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_bytes(b"")
    m = utkface.load(tmp_path)
    by = {r.path: r for r in m}
    assert set(by) == {names[0], names[1], names[4]}
    assert by[names[0]].age_group == 4 and by[names[0]].gender == 1 and by[names[0]].age_years == 26
    gap = by[names[1]]
    assert gap.age_group is None and gap.gender == 0 and gap.age_years == 3  # gap age kept for gender
    assert by[names[4]].age_group == 7
    assert m.drops.total == 2
    assert any("61_3_" in e for e in sum(m.drops.examples.values(), []))


def test_gender_folders(tmp_path):
    for n in ("male/a.jpg", "female/b.jpg", "female/c.png", "female/readme.txt", "other/d.jpg"):
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_bytes(b"")
    m = gender_folders.load(tmp_path, source="celeba-gender")
    assert sorted((r.path, r.gender, r.age_group) for r in m) == [
        ("female/b.jpg", 1, None), ("female/c.png", 1, None), ("male/a.jpg", 0, None)]
    assert m.drops.counts == {"not an image file name": 1, "folder is not a gender name (skipped)": 1}
    with pytest.raises(FileNotFoundError, match="no male/ or female/"):
        gender_folders.load(tmp_path / "male")


def test_real_utkface_counts():
    root = shared_path("data", "utkface")
    m = utkface.load(root)
    assert len(m) + m.drops.total == 9780 + 11929
    assert 0 < m.drops.total < 20
    assert all(r.gender in (0, 1) for r in m)
