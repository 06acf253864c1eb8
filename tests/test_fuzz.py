"""Short fuzzing runs (the long ones: `agegender bench fuzz --inputs 100000`): property-based tests with
hypothesis, the mutation engine on every target, and coverage-guided atheris where it installs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agegender.bench import fuzz

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", [n for n in fuzz.targets() if n != "upload"])
def test_mutation_engine_finds_no_crash_or_hang(name, tmp_path):
    rep = fuzz.run_target(name, inputs=400, seed=7, out_dir=tmp_path)
    assert rep.inputs == 400 and rep.crashes == 0 and rep.hangs == 0, rep.saved
    assert rep.peak_mb > 0


def test_upload_endpoint_survives_mutated_uploads(tmp_path):
    rep = fuzz.run_target("upload", inputs=120, seed=3, out_dir=tmp_path)
    assert rep.inputs == 120 and rep.crashes == 0 and rep.hangs == 0, rep.saved
    assert rep.peak_mb > 100  # the server's own memory is counted, not only this process's


def test_a_crash_is_counted_and_its_input_saved(tmp_path, monkeypatch):
    broken = fuzz.Target("broken", lambda data: 1 / (len(data) % 2), lambda: [b"ab", b"abc"], ())
    monkeypatch.setattr(fuzz, "targets", lambda: {"broken": broken})
    rep = fuzz.run_target("broken", inputs=50, out_dir=tmp_path)
    assert rep.crashes > 0 and rep.crashes + rep.handled < rep.inputs
    saved = sorted(tmp_path.glob("broken-crash-*.txt"))
    assert saved and "ZeroDivisionError" in saved[0].read_text()


FINDINGS = Path(__file__).parent / "fixtures" / "fuzz"


@pytest.mark.parametrize("path", sorted(FINDINGS.glob("decoder-*.bin")), ids=lambda p: p.name)
def test_inputs_the_fuzzer_once_crashed_on_are_clear_errors(path):
    from agegender.imaging import ImageError, load_image

    with pytest.raises(ImageError) as e:
        load_image(path)
    assert str(path) in str(e.value)


@FAST
@given(st.binary(max_size=4096))
def test_decoder_raises_only_image_errors(data):
    from agegender.imaging import ImageError, load_image

    try:
        out = load_image(data, max_pixels=2_000_000)
        assert out.ndim == 3 and out.shape[2] == 3
    except ImageError as e:
        assert e.problem and e.source == "<bytes>"


@FAST
@given(st.text(max_size=200))
def test_utkface_names_parse_or_say_why(name):
    from agegender.datasets.utkface import parse_name

    r = parse_name(name)
    if isinstance(r, tuple):
        age, gender, race = r
        assert 0 <= age <= 116 and gender in (0, 1) and name[:1].isascii() and race in ("white", "black", "asian", "indian", "others")
    else:
        assert r.startswith("malformed name")


@FAST
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), min_size=5, max_size=12),
       st.sampled_from(["(25, 32)", "(8, 12)", "35", "None", "(38, 42)", "", "٣٥"]), st.sampled_from(["m", "f", "u", ""]))
def test_adience_rows_never_break_the_loader(cells, age, gender):
    from agegender.datasets import adience
    from agegender.manifest import DropLog

    header = "\t".join(adience.HEADER) + "\tx\ty\tdx\tdy\ttilt_ang\tfiducial_yaw_angle\tfiducial_score\n"
    line = "\t".join([*cells[:3], age, gender, *cells[5:]]) + "\n"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fold_0_data.txt"
        p.write_text(header + line, encoding="utf-8")
        drops = DropLog()
        for row in adience.read_fold_file(p, 0, drops):
            assert "/" not in row.user_id and row.face_id.isascii() and row.face_id.isdigit()
            adience.parse_age(row.age, "lenient")


@FAST
@given(st.binary(max_size=2048))
def test_configs_fail_only_with_config_errors(data):
    from agegender import config

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.toml"
        p.write_bytes(data)
        try:
            config.load(p)
        except config.ConfigError as e:
            assert str(p) in str(e) or "." in str(e)


@FAST
@given(st.binary(max_size=2048))
def test_manifests_fail_only_with_manifest_errors(data):
    from agegender import manifest as mf

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.csv"
        p.write_bytes(b"path,source,age_group,gender\n" + data)
        try:
            mf.read(p)
        except mf.ManifestError as e:
            assert "m.csv" in str(e)


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris does not install on this platform")
def test_coverage_guided_run_with_atheris(tmp_path):
    (rep,) = fuzz.campaign(["adience"], inputs=1500, seconds=None, engine="atheris", out_dir=tmp_path)
    assert rep.inputs >= 1500 and rep.crashes == 0 and rep.hangs == 0, rep.saved


def test_the_long_run_command_reports_each_target():
    r = subprocess.run([sys.executable, "-m", "agegender", "bench", "fuzz", "utkface-name", "config", "--inputs", "300"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| utkface-name") or line.startswith("| config")]
    assert len(rows) == 2 and all("| 300 | 0 | 0 |" in row for row in rows)
