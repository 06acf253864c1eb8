"""Large jobs (issue #12): real worker processes, a real local Ray, resumable answers files, fsspec inputs —
on a small folder of real face photos mixed with bad files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agegender.batch import output, run
from agegender.batch.rows import OUT_FIELDS
from agegender.batch.sources import Source, iter_sources
from agegender.predictor import PredictorSpec

FAST = PredictorSpec(fast=True)


@pytest.fixture(scope="module")
def photos(tmp_path_factory, utk_named_faces):
    """16 real face crops in two folders, plus a corrupt, an empty and a not-an-image file."""
    d = tmp_path_factory.mktemp("photos")
    for i, p in enumerate(sorted(utk_named_faces.iterdir())[:16]):
        (d / ("a" if i % 2 else "b")).mkdir(exist_ok=True)
        shutil.copy(p, d / ("a" if i % 2 else "b") / f"face{i:02d}.jpg")
    (d / "a" / "corrupt.jpg").write_bytes((d / "a" / "face01.jpg").read_bytes()[:300])
    (d / "b" / "empty.png").write_bytes(b"")
    (d / "b" / "notes.jpg").write_text("not an image")
    return d


def _answers(answers) -> list[tuple]:
    return [(a.result.source, a.result.error, [(f.answer.best_age, f.answer.best_gender,
                                                 round(max(f.answer.age_probs), 4)) for f in a.result.faces]) for a in answers]


def test_worker_processes_give_the_same_answers_in_order(photos):
    sources = list(iter_sources([str(photos)]))
    assert len(sources) == 19
    single = _answers(run.predict_files(sources, FAST, workers=1))
    multi = _answers(run.predict_files(iter(sources), FAST, workers=2, chunk=3))
    assert multi == single  # same answers, same (input) order
    unordered = _answers(run.predict_files(iter(sources), FAST, workers=2, chunk=3, ordered=False))
    assert sorted(unordered) == sorted(single)
    errors = {Path(s).name: e for s, e, _ in single if e}
    assert set(errors) == {"corrupt.jpg", "empty.png", "notes.jpg"}
    assert "truncated" in errors["corrupt.jpg"] and "empty file" in errors["empty.png"] and "not an image" in errors["notes.jpg"]
    assert sum(len(f) for _, e, f in single if not e) == 16


def test_answers_files_have_the_schema_in_every_format(photos, tmp_path):
    from agegender.cli import main

    frames = {}
    for fmt in ("parquet", "csv", "jsonl"):
        out = tmp_path / f"answers.{fmt}"
        assert main(["predict", str(photos), "--fast", "--out", str(out), "--workers", "2", "--quiet"]) == 0
        frames[fmt] = output.read_answers(out)
        assert list(frames[fmt].columns) == list(OUT_FIELDS)
    import pyarrow.parquet as pq

    schema = pq.read_schema(next((tmp_path / "answers.parquet").glob("*.parquet")))
    assert str(schema.field("face").type) == "int32" and str(schema.field("undefined").type) == "bool"
    assert str(schema.field("file_size").type) == "int64" and str(schema.field("file_mtime").type) == "double"
    p = frames["parquet"]
    assert len(p) == 19 and p["source"].nunique() == 19
    assert (p["error"].notna()).sum() == 3 and p.loc[p["error"].isna(), "face"].tolist() == [1] * 16
    good = p[p["error"].isna()].iloc[0]
    assert good["file_size"] == os.path.getsize(good["source"]) and abs(good["file_mtime"] - os.path.getmtime(good["source"])) < 1
    assert frames["csv"]["source"].tolist() == p["source"].tolist() == frames["jsonl"]["source"].tolist()


def test_a_killed_job_resumes_without_losing_or_repeating_answers(photos, tmp_path):
    job = tmp_path / "job"  # enough images that a fast machine cannot finish them between two looks
    shutil.copytree(photos, job / "0")
    for k in range(1, 8):
        shutil.copytree(photos, job / str(k))
    total = sum(1 for p in job.rglob("*") if p.is_file())
    out = tmp_path / "answers.csv"
    cmd = [sys.executable, "-m", "agegender", "predict", str(job), "--fast", "--out", str(out), "--workers", "1",
           "--batch-size", "1", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 6):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = output.done_sources(out)
    assert 3 <= len(before) < total, "the job finished before it could be killed"
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{len(before)} already in" in r.stderr
    df = output.read_answers(out)
    assert len(df) == total and df["source"].nunique() == total  # everything once, nothing twice
    again = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len(output.read_answers(out)) == total


def test_manifests_and_fsspec_urls_are_inputs(photos, tmp_path):
    pytest.importorskip("fsspec")
    import fsspec

    urls = [s.name for s in iter_sources([f"file://{photos}/a"])]
    assert len(urls) == 9 and all(u.startswith("file://") for u in urls)
    via_url = _answers(run.predict_files(iter_sources([f"file://{photos}/a"]), FAST, workers=2))
    local = _answers(run.predict_files(iter_sources([str(photos / "a")]), FAST, workers=1))
    assert [(e, f) for _, e, f in via_url] == [(e, f) for _, e, f in local]
    mem = fsspec.filesystem("memory")
    mem.pipe("/bucket/x/face.jpg", (photos / "a" / "face01.jpg").read_bytes())
    mem.pipe("/bucket/x/broken.jpg", b"\xff\xd8\xff broken")
    (one, broken) = sorted(run.predict_files(iter_sources(["memory://bucket/x/"]), FAST, workers=1),
                           key=lambda a: a.source.name, reverse=True)
    assert one.result.ok and len(one.result.faces) == 1 and one.file_size == mem.info("/bucket/x/face.jpg")["size"]
    assert not broken.result.ok and "corrupt JPEG" in broken.result.error
    assert next(iter_sources(["memory://bucket/nothing/"])).error


def test_sources_from_a_manifest_in_its_order(photos, tmp_path):
    from agegender import manifest as mf
    from agegender.manifest import Manifest, Record

    recs = [Record(path=f"a/face{i:02d}.jpg", root=str(photos), source="t", key=str(i)) for i in (5, 1, 3)]
    m = mf.write(Manifest(recs), tmp_path / "m.csv")
    assert [Path(s.name).name for s in iter_sources([str(m)])] == ["face05.jpg", "face01.jpg", "face03.jpg"]


def test_local_ray_gives_the_same_answers(photos, tmp_path):
    pytest.importorskip("ray")
    from agegender.batch import ray_engine

    out = tmp_path / "ray.parquet"
    r = ray_engine.run([str(photos)], out, FAST, concurrency=2, batch_size=4, num_cpus=2)
    assert r["images"] == 19
    df = output.read_answers(out).sort_values(["source", "face"])
    single = output.AnswerWriter(tmp_path / "single.parquet")
    from agegender.batch.rows import rows_of

    single.write([row for a in run.predict_files(iter_sources([str(photos)]), FAST, workers=1)
                  for row in rows_of(a.result, a.file_size, a.file_mtime)])
    ref = output.read_answers(tmp_path / "single.parquet").sort_values(["source", "face"])
    cols = ["source", "face", "best_age_group", "best_gender", "error", "file_size"]
    def plain(frame):
        return frame[cols].astype(object).where(frame[cols].notna(), "").values.tolist()

    assert plain(df) == plain(ref)
    assert list(df.columns) == list(OUT_FIELDS)
    again = ray_engine.run([str(photos)], out, FAST, concurrency=2, batch_size=4, num_cpus=2, resume=True)
    assert again["images"] == 0 and again["skipped"] == 19 and len(output.read_answers(out)) == 19
    url = f"file://{tmp_path}/by-url.parquet"  # an object-storage-style output, as on a cluster
    r = ray_engine.run([str(photos / "a")], url, FAST, concurrency=2, batch_size=4, num_cpus=2)
    assert r["images"] == 9 and len(output.done_sources(url)) == 9
    with pytest.raises(FileExistsError):
        ray_engine.run([str(photos / "a")], url, FAST, concurrency=2, num_cpus=2)


def test_sources_report_what_cannot_be_listed(tmp_path):
    assert next(iter_sources([str(tmp_path / "missing")])).error == "no such file or folder"
    assert next(iter_sources([str(tmp_path / "*.jpg")])).error == "no file matches this pattern"
    (tmp_path / "empty").mkdir()
    assert next(iter_sources([str(tmp_path / "empty")])).error == "folder holds no image files"
    s = Source("x", "memory://nowhere/x.jpg")
    assert s.remote and json.dumps(s.__dict__)


def test_bench_scenes_writes_the_same_photos_of_several_real_faces(utk_named_faces, tmp_path):
    """`agegender bench scenes`: the folder of larger photos for `bench batch` — reproducible, and the
    faces in it are found by the real detector."""
    from PIL import Image

    from agegender.cli import main
    from agegender.predictor import Predictor

    for out in ("one", "two"):
        assert main(["bench", "scenes", str(utk_named_faces), str(tmp_path / out), "--n", "3", "--size", "640", "480"]) == 0
    files = sorted((tmp_path / "one").iterdir())
    assert [f.name for f in files] == ["scene-00000.jpg", "scene-00001.jpg", "scene-00002.jpg"]
    assert all(f.read_bytes() == (tmp_path / "two" / f.name).read_bytes() for f in files)  # same seed, same photos
    assert Image.open(files[0]).size == (640, 480)
    found = sum(len(Predictor.fast().predict(f).faces) for f in files)
    assert found >= 3  # at least one face per photo
