"""The defects found by attacking the tool as a careless or malicious user would (issue #16), one test
each: real files, folders, symbolic links, permissions, training runs and a real server."""

from __future__ import annotations

import bz2
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agegender.imaging import ImageError, array_to_rgb, load_image

ASTRONAUT = Path(__file__).resolve().parent.parent / "src" / "agegender" / "data" / "astronaut.jpg"


def _unprivileged_prefix() -> list[str] | None:
    """A command prefix that makes a process subject to file permissions (a non-root user already is;
    root drops the capabilities that bypass them), or None when this machine cannot do that."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"agegender-probe-{os.getpid()}"
    probe.write_text("x")
    probe.chmod(0)
    try:
        r = subprocess.run([*prefix, sys.executable, "-c", f"open({str(probe)!r}).read()"], capture_output=True)
        return prefix if r.returncode != 0 and b"PermissionError" in r.stderr else None
    finally:
        probe.chmod(0o600)
        probe.unlink()


def _run_unprivileged(args: list[str], **kw) -> subprocess.CompletedProcess:
    prefix = _unprivileged_prefix()
    if prefix is None:
        pytest.skip("cannot run a process subject to file permissions here (root without setpriv)")
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=300, **kw)


# --------------------------------------------------------------------------- 3, 11: unreadable files

def test_unreadable_file_is_that_files_error_and_the_batch_goes_on(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(ASTRONAUT, d / "good.jpg")
    shutil.copy(ASTRONAUT, d / "locked.jpg")
    (d / "locked.jpg").chmod(0)
    locked_dir = tmp_path / "closed"
    locked_dir.mkdir()
    locked_dir.chmod(0)
    try:
        r = _run_unprivileged([sys.executable, "-m", "agegender", "predict", str(d), str(locked_dir), "--json", "--quiet"])
        code = ("import json; from agegender.predictor import Predictor; p = Predictor.fast(); "
                f"print(json.dumps([r.error for r in p.predict_many([{str(d / 'locked.jpg')!r}, {str(d / 'good.jpg')!r}])]))")
        api = _run_unprivileged([sys.executable, "-c", code])
    finally:
        (d / "locked.jpg").chmod(0o644)
        locked_dir.chmod(0o755)
    assert r.returncode == 0, r.stderr
    answers = {a["source"].rsplit("/", 1)[-1]: a for a in map(json.loads, r.stdout.splitlines())}
    assert len(answers["good.jpg"]["faces"]) == 1 and answers["good.jpg"]["error"] is None  # the good file answered
    assert answers["locked.jpg"]["error"] == "cannot read this file: permission denied"
    assert answers["closed"]["error"] == "cannot read this folder: permission denied"
    assert "locked.jpg: cannot read this file: permission denied" in r.stderr
    assert "closed: cannot read this folder: permission denied" in r.stderr
    assert api.returncode == 0, api.stderr
    assert json.loads(api.stdout.splitlines()[-1]) == ["cannot read this file: permission denied", None]


def test_link_loops_and_broken_links_say_so(tmp_path):
    (tmp_path / "self.jpg").symlink_to(tmp_path / "self.jpg")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(ImageError, match="symbolic link loop"):
        load_image(tmp_path / "self.jpg")
    with pytest.raises(ImageError, match="broken symbolic link"):
        load_image(tmp_path / "gone.jpg")
    from agegender import inputs

    items = {Path(i.source).name: i.error for i in inputs.expand([str(tmp_path / "self.jpg"), str(tmp_path / "gone.jpg")])}
    assert "symbolic link loop" in items["self.jpg"] and "broken symbolic link" in items["gone.jpg"]


# --------------------------------------------------------------------------- 4: bzip2 bomb

def test_bzip2_bomb_is_refused_without_inflating_it(tmp_path):
    c = bz2.BZ2Compressor(9)
    data = c.compress(b"P6\n64 64\n255\n") + b"".join(c.compress(bytes(1 << 24)) for _ in range(16)) + c.flush()
    assert len(data) < 2000  # a tiny file that inflates to 256 MB
    for name in ("bomb.ppm", "bomb.jpg"):
        (tmp_path / name).write_bytes(data)
        t0 = time.perf_counter()
        with pytest.raises(ImageError, match="bomb") as e:
            load_image(tmp_path / name)
        assert time.perf_counter() - t0 < 2 and name in str(e.value)
    big = bz2.compress(b"P6\n20000 20000\n255\n" + bytes(1000))  # 400 MP header: refused before inflating
    with pytest.raises(ImageError, match="too large"):
        load_image(big, max_pixels=50_000_000)
    good = io.BytesIO()
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(good, "PPM")
    assert load_image(bz2.compress(good.getvalue())).shape == (20, 30, 3)


# --------------------------------------------------------------------------- 6: symlink loops in globs

def test_globs_and_folders_visit_each_real_file_once(tmp_path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    shutil.copy(ASTRONAUT, d / "a.jpg")
    shutil.copy(ASTRONAUT, d / "sub" / "b.jpg")
    (d / "l1").symlink_to(".")
    (d / "l2").symlink_to(".")
    (d / "sub" / "up").symlink_to("..")
    from agegender import inputs

    a, b = (d / "a.jpg").resolve(), (d / "sub" / "b.jpg").resolve()
    for arg, expected in ((d, [a, b]), (d / "**" / "*.jpg", [a, b]), (d / "*" / "*.jpg", [b])):
        t0 = time.perf_counter()
        found = [Path(i.source).resolve() for i in inputs.expand([str(arg)]) if i.error is None]
        assert time.perf_counter() - t0 < 5
        assert sorted(found) == expected, arg  # each real file once, whatever the links
    r = subprocess.run([sys.executable, "-m", "agegender", "predict", "--fast", str(d / "**" / "*.jpg"), "--csv", "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(list(csv.DictReader(io.StringIO(r.stdout)))) == 2  # two files, one face each, once each
    # a folder as a phone's photos land on a computer: HEIC (upper-case names) and AVIF beside the JPEGs
    shutil.copy(Path(__file__).parent / "fixtures" / "heic" / "astronaut-turned.heic", d / "IMG_0042.HEIC")
    Image.open(ASTRONAUT).save(d / "sub" / "c.avif", quality=80)
    r = subprocess.run([sys.executable, "-m", "agegender", "predict", "--fast", str(d), "--csv", "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sorted(Path(row["source"]).name for row in rows) == ["IMG_0042.HEIC", "a.jpg", "b.jpg", "c.avif"], rows


# --------------------------------------------------------------------------- 7: arrays

@pytest.mark.parametrize("make,expect", [
    (lambda a: a[:, :, 0], (1, "grey 2-D")),
    (lambda a: a[:, :, :1], (1, "1 channel")),
    (lambda a: np.dstack([a[:, :, 0], np.full(a.shape[:2], 255, np.uint8)]), (1, "grey + alpha")),
    (lambda a: np.dstack([a, np.full(a.shape[:2], 255, np.uint8)]), (1, "RGBA")),
    (lambda a: a.astype(np.float32) / 255.0, (1, "float 0-1")),
    (lambda a: a.astype(np.float64), (1, "float 0-255")),
    (lambda a: a.astype(np.uint16) * 257, (1, "16-bit")),
])
def test_arrays_of_every_common_kind_are_converted_like_files(astronaut, make, expect):
    from agegender.predictor import Predictor

    res = Predictor.fast().predict(make(astronaut))
    assert res.ok and len(res.faces) == expect[0], expect[1]


@pytest.mark.parametrize("array,words", [
    (np.zeros((0, 0, 3), np.uint8), "no pixels"),
    (np.zeros((10, 10, 5), np.uint8), "not an image array"),
    (np.zeros((4, 10, 10, 3), np.uint8), "not an image array"),
    (np.array([["a"]]), "not an image array"),
    (np.full((10, 10, 3), np.nan, np.float32), "NaN or infinite"),
])
def test_unusable_arrays_get_a_clear_error(array, words):
    from agegender.predictor import Predictor

    with pytest.raises(ImageError, match=words):
        array_to_rgb(array)
    res = Predictor.fast().predict(array)
    assert not res.ok and words in res.error


def test_array_conversions_match_file_conversions():
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent → white, as for files
    assert (array_to_rgb(rgba) == 255).all()
    grey16 = (np.linspace(0, 65535, 16).reshape(4, 4)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, "PNG")
    assert (array_to_rgb(grey16) == load_image(buf.getvalue())).all()


# --------------------------------------------------------------------------- 8: Adience loader garbage

def test_adience_loader_drops_garbage_rows_and_accepts_a_bom(tmp_path):
    from agegender.datasets import adience

    header = "user_id\toriginal_image\tface_id\tage\tgender\tx\ty\tdx\tdy\ttilt_ang\tfiducial_yaw_angle\tfiducial_score\n"
    good = "u1\timg{k}.jpg\t{k}\t(25, 32)\tf\t0\t0\t1\t1\t0\t0\t0\n"
    for k in range(5):
        lines = [b"\xef\xbb\xbf" + header.encode(), good.format(k=k).encode()]
        if k == 0:
            lines += [b"u2\timg\xff\xfe.jpg\t7\t(25, 32)\tm\t0\t0\t1\t1\t0\t0\t0\n",          # not UTF-8
                      b"u3\timg\x00.jpg\t8\t(25, 32)\tm\t0\t0\t1\t1\t0\t0\t0\n",              # NUL byte
                      b"u4\t" + b"x" * 5_000_000 + b".jpg\t9\t(25, 32)\tm\t0\t0\t1\t1\t0\t0\t0\n",  # a 5 MB line
                      b"..\timg.jpg\t10\t(25, 32)\tm\t0\t0\t1\t1\t0\t0\t0\n"]               # a path trick
        (tmp_path / f"fold_{k}_data.txt").write_bytes(b"".join(lines))
    m = adience.load(tmp_path)
    assert len(m) == 5 and all("\ufffd" not in r.path and "\x00" not in r.path for r in m.records)
    reasons = m.drops.counts
    assert reasons["malformed line (not valid UTF-8)"] == 1 and reasons["malformed line (NUL byte)"] == 1
    assert reasons[f"malformed line (longer than {adience.MAX_LINE} bytes)"] == 1
    assert reasons["malformed line (bad user/image/face id)"] == 1
    assert any("fold_0_data.txt:3" in e for e in m.drops.examples["malformed line (not valid UTF-8)"])
    from agegender import manifest as mf

    out = mf.write(m, tmp_path / "adience.csv")
    assert len(mf.read(out)) == 5  # `data stats` reads it back


def test_a_manifest_with_a_huge_field_is_a_clear_error(tmp_path):
    from agegender import manifest as mf

    p = tmp_path / "m.csv"
    p.write_text("path,source\n" + "x" * 200_000 + ",s\n")
    with pytest.raises(mf.ManifestError, match=r"m.csv:2: not a readable CSV row"):
        mf.read(p)
    r = subprocess.run([sys.executable, "-m", "agegender", "data", "stats", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and "m.csv:2" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- 9: UTKFace loader

def test_utkface_loader_names_bad_folder_names_and_refuses_foreign_digits(tmp_path):
    from agegender import manifest as mf
    from agegender.datasets import utkface

    bad = os.fsencode(tmp_path) + b"/caf\xe9"  # a Latin-1 folder name: not UTF-8
    os.mkdir(bad)
    shutil.copy(ASTRONAUT, os.fsdecode(bad + b"/25_1_0_20170109150557335.jpg.chip.jpg"))
    shutil.copy(ASTRONAUT, tmp_path / "30_0_1_20170109150557335.jpg.chip.jpg")
    shutil.copy(ASTRONAUT, tmp_path / "\uff13\uff15_0_1_20170109150557336.jpg.chip.jpg")  # fullwidth "35"
    shutil.copy(ASTRONAUT, tmp_path / "\u0663\u0665_0_1_20170109150557337.jpg.chip.jpg")  # Arabic-Indic "35"
    m = utkface.load(tmp_path)
    assert [r.age_years for r in m.records] == [30.0]
    assert m.drops.counts["file or folder name is not valid UTF-8"] == 1
    assert "caf\\udce9" in m.drops.examples["file or folder name is not valid UTF-8"][0]
    assert m.drops.counts["malformed name: expected <age>_<gender>_<race>_<datetime>.jpg"] == 2
    assert len(mf.read(mf.write(m, tmp_path / "utk.csv"))) == 1


def test_label_files_read_ascii_numbers_only():
    from agegender.labels import parse_years

    assert parse_years("35") == 35.0 and parse_years(" 35.5 ") == 35.5 and parse_years(41) == 41.0
    for bad in ("\uff13\uff15", "\u0663\u0665", "nan", "inf", "-3", "200", "", "3e1", True, None):
        assert parse_years(bad) is None, bad


# --------------------------------------------------------------------------- 10: CLI arguments

@pytest.mark.parametrize("args,words", [
    (["predict", str(ASTRONAUT), "--max-faces", "-1"], "--max-faces: must be at least 1"),
    (["predict", str(ASTRONAUT), "--detect-size", "-1"], "--detect-size: must be between 32"),
    (["predict", str(ASTRONAUT), "--threads", "100000"], "--threads: must be between 1 and"),
    (["predict", str(ASTRONAUT), "--fps", "nan"], "--fps: must be between"),
    (["serve", "--workers", "0"], "--workers: must be between 1"),
    (["features", "m.csv", "--extractor", "agnet", "--out", "x.npz", "--batch-size", "0"], "--batch-size: must be between 1"),
])
def test_out_of_range_arguments_are_refused(args, words):
    r = subprocess.run([sys.executable, "-m", "agegender", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and words in r.stderr, r.stderr


def test_the_api_refuses_out_of_range_values_too(astronaut):
    from agegender.predictor import Predictor

    with pytest.raises(ValueError, match="threads must be between"):
        Predictor.fast(threads=100_000)
    with pytest.raises(ValueError, match="detect size"):
        Predictor.fast(detect_size=-1)
    with pytest.raises(ValueError, match="max_faces must be at least 1"):
        Predictor.fast().predict(astronaut, max_faces=-1)


# --------------------------------------------------------------------------- 11: plain-word decode errors

@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP", "JPEG", "TIFF", "BMP", "AVIF", "HEIC"])
def test_decode_errors_say_what_is_wrong_in_plain_words(fmt):
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    if fmt == "HEIC":  # decode-only here: the committed iPhone-format portrait
        buf.write((Path(__file__).parent / "fixtures" / "heic" / "astronaut.heic").read_bytes())
    else:
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, fmt)
    data = bytearray(buf.getvalue())
    problems = set()
    for i in range(60):
        d = bytearray(data)
        for p in rng.integers(8 if fmt != "BMP" else 60, len(d), 6):
            d[p] = int(rng.integers(0, 256))
        if i % 3 == 0:
            d = d[: len(d) * 2 // 3]
        try:
            load_image(bytes(d))
        except ImageError as e:
            problems.add(e.problem)
    plain = ("truncated image file", "damaged image data", "damaged header", "corrupt ", "unsupported kind",
             "not an image", "unreadable", "image too large", "image has no pixels")
    for p in problems:
        assert p.startswith(plain), p


# --------------------------------------------------------------------------- 5: resume

def _train_cmd(man, feats, run, *extra):
    return [sys.executable, "-m", "agegender", "train", "--manifest", str(man), "--features", str(feats),
            "--set", "train.early_stopping=0", "--set", "model.hidden=[16]", "--out", str(run), "--quiet", *extra]


def test_resume_on_a_finished_run_changes_nothing(tmp_path):
    from training_data import learnable

    man, feats = learnable(tmp_path, n=400, dim=8)
    run = tmp_path / "run"
    cmd = _train_cmd(man, feats, run, "--set", "train.epochs=2")
    assert subprocess.run(cmd, capture_output=True, timeout=300).returncode == 0
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.iterdir() if p.is_file()}
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "already complete (2 epochs)" in r.stdout and "nothing changed" in r.stdout
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.iterdir() if p.is_file()}
    assert after == before


def test_resume_counts_every_epoch_refuses_other_settings_and_damaged_backups(tmp_path):
    from training_data import kill_mid_training, learnable

    man, feats = learnable(tmp_path, n=24000, dim=64, name="big")
    run = tmp_path / "run"
    cmd = _train_cmd(man, feats, run, "--set", "train.epochs=40", "--set", "train.batch_size=16")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kill_mid_training(cmd, run, settle=2.5)
    done = len(list(csv.DictReader((run / "history.csv").open())))
    config_before = (run / "config.json").read_text()

    other = subprocess.run([*cmd, "--set", "model.hidden=[32]", "--resume"], capture_output=True,
                           text=True, timeout=120)
    ours = [line for line in other.stderr.splitlines() if line.startswith("agegender")]
    assert other.returncode == 2 and len(ours) == 1 and "model.hidden: [16] → [32]" in ours[0] and "Traceback" not in other.stderr
    assert (run / "config.json").read_text() == config_before  # nothing overwritten

    backup = run / "backup"
    saved = {p: p.read_bytes() for p in backup.iterdir()}
    for p in backup.glob("*.h5*"):
        p.write_bytes(p.read_bytes()[:100])  # truncated checkpoints
    broken = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=120)
    assert broken.returncode == 2 and "checkpoint is damaged" in broken.stderr and "delete that folder" in broken.stderr
    for p, data in saved.items():
        p.write_bytes(data)

    extra = ["--set", f"train.epochs={done + 2}", "--resume"]
    r = subprocess.run([*cmd, *extra], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["training"]["epochs"] == done + 2 == len(list(csv.DictReader((run / "history.csv").open())))
    assert meta["training"]["seconds"] >= 2.0  # the killed session's seconds count too


# --------------------------------------------------------------------------- 12: float TIFFs

@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float_images_with_nan_or_inf_are_errors(bad):
    a = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    a[3, 3] = bad
    buf = io.BytesIO()
    Image.fromarray(a, "F").save(buf, "TIFF")
    with pytest.raises(ImageError, match="NaN or infinite"):
        load_image(buf.getvalue())


def test_pixel_limits_above_pillows_own_guard_apply():
    buf = io.BytesIO()
    Image.new("1", (10_000, 9_500)).save(buf, "PNG")  # 95 MP: over Pillow's 89.5 MP warning
    data = buf.getvalue()
    with pytest.raises(ImageError, match=r"95.0 MP > limit 90.0 MP"):
        load_image(data, max_pixels=90_000_000)
    assert load_image(data, max_pixels=100_000_000).shape == (9_500, 10_000, 3)


# --------------------------------------------------------------------------- 1, 2, 12: the server

def _limit_fds(n: int):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return apply


def test_slow_clients_cannot_take_the_server_down():
    import httpx

    from test_web import start_server, stop_server

    proc, base = start_server("--fast", "--workers", "1", "--header-timeout", "3", preexec_fn=_limit_fds(256))
    port = int(base.rsplit(":", 1)[1])
    socks: list[socket.socket] = []
    stop = threading.Event()

    def attack():  # ~1,100 connections that send their headers a byte at a time, as the attack
        while not stop.is_set() and len(socks) < 1100:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
            except OSError:
                time.sleep(0.01)
        while not stop.is_set():
            for s in list(socks):
                try:
                    s.send(b"X")
                except OSError:
                    socks.remove(s)
            time.sleep(0.5)

    t = threading.Thread(target=attack, daemon=True)
    t.start()
    try:
        latencies = []
        for _ in range(10):
            t0 = time.perf_counter()
            r = httpx.get(base + "/health", timeout=5)
            latencies.append(time.perf_counter() - t0)
            assert r.status_code == 200
            time.sleep(0.5)
        # every check answered (timeout 5 s); once the attack's opening burst is accepted, promptly
        assert sorted(latencies)[len(latencies) // 2] < 0.5 and max(latencies[-5:]) < 1.0, latencies
        with open(ASTRONAUT, "rb") as f:
            r = httpx.post(base + "/api/predict", files={"file": ("a.jpg", f, "image/jpeg")}, timeout=20)
        assert r.status_code == 200 and len(r.json()["faces"]) == 1
    finally:
        stop.set()
        t.join(timeout=10)
        for s in socks:
            s.close()
        stop_server(proc)
    log = Path(proc.log_path).read_text(errors="replace")
    assert len(log) < 50_000 and "Too many open files" not in log


def test_a_chunked_upload_stops_at_the_cap_and_never_spools_more(tmp_path):
    import httpx

    from test_web import start_server, stop_server

    spool = tmp_path / "spool"
    spool.mkdir()
    env = {**os.environ, "TMPDIR": str(spool)}
    proc, base = start_server("--fast", "--workers", "1", "--max-mb", "2", env=env)
    biggest = [0]
    done = threading.Event()

    def watch():  # the largest temporary file the server holds open (spooled uploads are unlinked)
        while not done.is_set():
            for fd in Path(f"/proc/{proc.pid}/fd").glob("*"):
                try:
                    if str(spool) in os.readlink(fd):
                        biggest[0] = max(biggest[0], os.stat(fd).st_size)
                except OSError:
                    pass
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    sent = [0]

    def body():
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        chunk = b"\xff\xd8\xff" + bytes(1 << 18)
        for _ in range(800):  # 200 MB if nobody stops it, slowly enough for the watcher to see the spool
            sent[0] += len(chunk)
            time.sleep(0.03)
            yield chunk
    try:
        t0 = time.perf_counter()
        try:
            r = httpx.post(base + "/api/predict", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"},
                           timeout=60)
            status, answer = r.status_code, r.json()
        except httpx.HTTPError:  # the server may close the connection once it has answered
            status, answer = 413, {"error": "file too large"}
        elapsed = time.perf_counter() - t0
    finally:
        done.set()
        watcher.join()
        stop_server(proc)
    assert status == 413 and "too large" in answer["error"]
    assert elapsed < 10 and sent[0] < 50 * (1 << 20)  # the server hung up: the client could not send on
    assert 1 << 20 < biggest[0] <= 2 * (1 << 20) + 128 * 1024  # it did spool, and never more than the cap


def test_serve_max_pixels_above_pillows_guard_and_nan_tiffs():
    import httpx

    from test_web import start_server, stop_server

    proc, base = start_server("--fast", "--workers", "1", "--max-pixels", "120000000", "--max-mb", "10")
    try:
        buf = io.BytesIO()
        Image.new("1", (10_000, 10_000)).save(buf, "PNG")  # 100 MP, under the chosen limit
        r = httpx.post(base + "/api/predict", files={"file": ("big.png", buf.getvalue(), "image/png")}, timeout=120)
        assert r.status_code == 200 and r.json()["faces"] == [] and r.json()["width"] == 10_000
        a = np.ones((64, 64), np.float32)
        a[0, 0] = np.inf
        buf = io.BytesIO()
        Image.fromarray(a, "F").save(buf, "TIFF")
        r = httpx.post(base + "/api/predict", files={"file": ("f.tif", buf.getvalue(), "image/tiff")}, timeout=60)
        assert r.status_code == 422 and "NaN or infinite" in r.json()["error"]
    finally:
        stop_server(proc)
