"""Fuzzing every input the tool reads from strangers: image bytes, the upload endpoint, label files,
configs and manifests.

Each target takes bytes and must either work or fail with its documented error (``ImageError``,
``ConfigError``, ``ManifestError``, a ``ValueError``/``FileNotFoundError`` naming the file); anything
else is a **crash**, an input that takes over :data:`HANG_SECONDS` a **hang**. Two engines:

* ``mutate`` — a mutation corpus: valid seeds of each format, mutated (bit flips, byte changes,
  insertions, deletions, truncation, splicing, magic numbers);
* ``atheris`` — coverage-guided (libFuzzer), where the ``atheris`` wheel installs.

:func:`run_target` runs one target in this process; :func:`campaign` runs each target in its own
process (so a hang or a native crash stops only that target and the peak memory is per target) and
reports inputs tried, crashes, hangs and peak memory. Crashing and hanging inputs are saved.
"""

from __future__ import annotations

import bz2
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

HANG_SECONDS = 5.0


@dataclass
class Target:
    name: str
    run: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    allowed: tuple[type[BaseException], ...]
    setup: Callable[[], object] | None = None
    teardown: Callable[[], object] | None = None
    peak_mb: Callable[[], float] | None = None  # memory of processes the target drives (the server's)


# --------------------------------------------------------------------------- seeds

def _image_seeds() -> list[bytes]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    out = []
    for fmt, im, kw in [("PNG", rgb, {}), ("JPEG", rgb, {}), ("GIF", rgb, {}), ("BMP", rgb, {}), ("TIFF", rgb, {}),
                        ("WEBP", rgb, {}), ("PPM", rgb, {}), ("PNG", rgb.convert("L"), {}), ("JPEG", rgb.convert("CMYK"), {}),
                        ("PNG", Image.fromarray((rng.random((16, 16)) * 65535).astype(np.uint16)), {}),
                        ("TIFF", Image.fromarray(rng.random((8, 8)).astype(np.float32), "F"), {}),
                        ("PNG", rgb.convert("RGBA"), {}), ("PNG", rgb.convert("P"), {}), ("AVIF", rgb, {})]:
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        out.append(buf.getvalue())
    exif = rgb.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", exif=exif)
    out.append(buf.getvalue())
    out.append(bz2.compress(out[6]))
    # HEIC (libheif, C code reading strangers' iPhone photos): a 32×24 one made by scripts/make_phone_fixtures.py's
    # way (only pillow-heif's wheels can encode it), shipped beside the bundled photo
    out.append((resources.files("agegender") / "data" / "fuzz-seed.heic").read_bytes())
    return out


def _photo_seed() -> bytes:
    from PIL import Image

    from agegender.cli.common import default_photo

    buf = io.BytesIO()
    Image.open(default_photo()).convert("RGB").resize((160, 160)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


ADIENCE_HEADER = "user_id\toriginal_image\tface_id\tage\tgender\tx\ty\tdx\tdy\ttilt_ang\tfiducial_yaw_angle\tfiducial_score\n"


def _adience_seeds() -> list[bytes]:
    rows = ["30601258@N03\t10399646885_67c7d20df9_o.jpg\t1\t(25, 32)\tf\t0\t414\t1086\t1383\t-115\t30\t17\n",
            "30601258@N03\t10424815813_e94629b1ec_o.jpg\t2\t(25, 32)\tm\t301\t105\t640\t641\t0\t0\t94\n",
            "7153718@N04\t11579233836_7f3d4ab0b4_o.jpg\t3\t(38, 42)\tu\t1076\t1019\t489\t490\t-10\t0\t29\n",
            "7153718@N04\t11579233836_7f3d4ab0b4_o.jpg\t4\t35\t\t1\t2\t3\t4\t0\t0\t0\n",
            "115321157@N03\t11944341184_2b9a4b2f5a_o.jpg\t5\tNone\tf\t1\t2\t3\t4\t0\t0\t0\n"]
    return [(ADIENCE_HEADER + "".join(rows)).encode(), ("\ufeff" + ADIENCE_HEADER + rows[0]).encode(),
            (ADIENCE_HEADER + rows[1]).replace("\n", "\r\n").encode()]


def _text_seeds(*texts: str) -> Callable[[], list[bytes]]:
    return lambda: [t.encode() for t in texts]


# --------------------------------------------------------------------------- targets

def _decode(data: bytes) -> None:
    from agegender.imaging import load_image

    load_image(data, max_pixels=4_000_000)


def _array(data: bytes) -> None:
    """Arrays of any shape and dtype the bytes describe (the first bytes choose them)."""
    import numpy as np

    from agegender.imaging import array_to_rgb

    if len(data) < 4:
        data = data + b"\0" * (4 - len(data))
    dtypes = [np.uint8, np.uint16, np.int32, np.float32, np.float64, np.bool_, np.int8, np.complex64]
    dt = np.dtype(dtypes[data[0] % len(dtypes)])
    ndim = data[1] % 5
    body = data[4:]
    n = len(body) // dt.itemsize
    shape: tuple[int, ...]
    if ndim == 0:
        shape = ()
    elif ndim == 1:
        shape = (n,)
    else:
        c = 1 + data[2] % 5
        h = 1 + data[3] % 16
        w = max(0, n // (h * c)) if ndim >= 3 else max(0, n // h)
        shape = (h, w, c) if ndim == 3 else (h, w) if ndim == 2 else (1, h, w, c)
    count = int(np.prod(shape)) if shape else 1
    a = np.frombuffer(body[: count * dt.itemsize].ljust(count * dt.itemsize, b"\0"), dtype=dt).reshape(shape)
    array_to_rgb(a)


def _adience(data: bytes) -> None:
    from agegender.datasets import adience
    from agegender.manifest import DropLog

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fold_0_data.txt"
        p.write_bytes(data)
        for row in adience.read_fold_file(p, 0, DropLog()):
            adience.parse_age(row.age, "lenient")
            adience.parse_gender(row.gender)


def _adience_lists(data: bytes) -> None:
    from agegender.datasets import adience

    with tempfile.TemporaryDirectory() as d:
        for k in range(5):
            (Path(d) / f"test_fold_is_{k}").mkdir()
        (Path(d) / "test_fold_is_0" / "age_train.txt").write_bytes(data)
        (Path(d) / "test_fold_is_0" / "gender_test.txt").write_bytes(data[::-1])
        adience.read_fold_lists(d)


def _utkface_name(data: bytes) -> None:
    from agegender.datasets import utkface

    r = utkface.parse_name(data.decode("utf-8", "surrogateescape"))
    assert isinstance(r, str | tuple)


def _extra_names(data: bytes) -> None:
    """KDEF, FERET and CFD names, FERET ground truth and FaceTracer/PAL label files."""
    from agegender.datasets import extra

    text = data.decode("utf-8", "replace")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        name = "".join(c for c in text.splitlines()[0] if c not in "/\\\0")[:120] if text else "x"
        if not name or name in (".", ".."):
            name = "x"
        for sub in ("kdef", "feret/data/images/00001", "feret/data/ground_truths/name_value/00001", "ft", "pal"):
            (root / sub).mkdir(parents=True)
        try:
            (root / "kdef" / (name + ".JPG")).write_bytes(b"")
            (root / "feret/data/images/00001" / (name + ".ppm.bz2")).write_bytes(b"")
            (root / "pal" / (name + ".jpg")).write_bytes(b"")
        except OSError:
            pass  # a name the file system refuses (too long…): the loaders never see it
        (root / "feret/data/ground_truths/name_value/00001/00001.txt").write_bytes(data)
        (root / "ft" / "facelabels.txt").write_bytes(data)
        (root / "pal.csv").write_bytes(b"file,age,gender\n" + data)
        extra.load_kdef(root / "kdef")
        try:
            extra.load_feret(root / "feret")
        except FileNotFoundError:
            pass  # no usable ground truth in this input: said so, by design
        extra.load_facetracer(root / "ft", root / "ft")
        extra.load_pal(root / "pal", labels_csv=root / "pal.csv")
        extra.load_pal(root / "pal", pattern=r"(?P<gender>[MF])_(?P<age>\d+)")


def _config(data: bytes) -> None:
    from agegender import config

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.toml"
        p.write_bytes(data)
        config.load(p)


def _manifest(data: bytes) -> None:
    from agegender import manifest as mf

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.csv"
        p.write_bytes(data)
        m = mf.read(p)
        mf.report(m)


def _manifest_seeds() -> list[bytes]:
    return [b"path,root,source,key,subject,fold,age_group,gender,age_years\n"
            b"a/1.jpg,/data,utkface,a/1.jpg,,,25-32,f,28\nb.jpg,,adience,u/1/b.jpg,u,3,0-2,m,\n",
            b"path,source\nx.jpg,celeba-gender\n"]


_upload: dict = {}


def _upload_setup() -> None:
    """A real `agegender serve` (fast model, one worker) on a free loopback port."""
    import httpx

    from agegender.web import local

    proc, base = local.start("--fast", "--workers", "1", "--no-access-log", "--max-mb", "2", "--max-pixels", "4000000",
                             "--timeout", "10")
    _upload.update(proc=proc, base=base, client=httpx.Client(timeout=HANG_SECONDS + 5))


def _tree_peak_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of ``pid`` and its child processes, the largest of them."""
    peak = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return peak


def _upload_peak() -> float:
    return _tree_peak_mb(_upload["proc"].pid) if _upload.get("proc") else 0.0


def _upload_teardown() -> None:
    from agegender.web import local

    if _upload.get("proc"):
        _upload["client"].close()
        local.stop(_upload["proc"])


class ServerError(Exception):
    """The server answered 5xx, or not JSON, or not at all."""


def _upload_one(data: bytes) -> None:
    import httpx

    try:
        r = _upload["client"].post(_upload["base"] + "/api/predict", files={"file": ("f", data, "application/octet-stream")})
    except httpx.HTTPError as e:
        raise ServerError(f"no answer: {e}") from None
    if r.status_code >= 500 and r.status_code != 503:
        raise ServerError(f"{r.status_code}: {r.text[:200]}")
    body = r.json()
    if r.status_code != 200 and set(body) != {"error"}:
        raise ServerError(f"error without the one shape: {body}")


def targets() -> dict[str, Target]:
    from agegender.config import ConfigError
    from agegender.imaging import ImageError
    from agegender.manifest import ManifestError

    return {t.name: t for t in [
        Target("decoder", _decode, _image_seeds, (ImageError,)),
        Target("array", _array, lambda: [bytes([0, 3, 2, 8]) + bytes(range(256)) * 4, bytes([3, 2, 0, 4]) + b"\x01" * 400],
               (ImageError,)),
        Target("upload", _upload_one, lambda: [_photo_seed(), *_image_seeds()], (), _upload_setup, _upload_teardown,
               _upload_peak),
        Target("adience", _adience, _adience_seeds, (ValueError,)),  # only a wrong header: "not an Adience fold file"
        Target("adience-lists", _adience_lists, _text_seeds(
            "30601258@N03/landmark_aligned_face.1.10399646885_67c7d20df9_o.jpg 4\n"
            "7153718@N04/landmark_aligned_face.3.11579233836_7f3d4ab0b4_o.jpg 0\n"), (FileNotFoundError,)),
        Target("utkface-name", _utkface_name, _text_seeds("26_1_0_20170116232725357.jpg.chip.jpg",
                                                          "61_3_20170109150557335.jpg.chip.jpg", "1_0_2_2016.jpg"), ()),
        Target("extra-labels", _extra_names, _text_seeds(
            "AF01ANS\nid=cfrS00001\ngender=Male\nyob=1943\nrace=White\n", "BM35HAFL\n1\tgender\tmale\n2\tage\tsenior\n",
            "00001_930831_fa_a\nimg.jpg,35,f\nM_41.jpg,x,m\n"), ()),
        Target("config", _config, _text_seeds(
            'name = "x"\n[data]\nprotocol = "utkface-a8"\nfolds = 5\n[model]\nkind = "head"\nhidden = [256]\ndropout = 0.3\n'
            '[train]\nepochs = 3\nlearning_rate = 0.001\n', '[model]\npreset = "seed-fcn-tuple"\n[train]\nloss = "mse"\n'),
               (ConfigError,)),
        Target("manifest", _manifest, _manifest_seeds, (ManifestError,)),
    ]}


# --------------------------------------------------------------------------- the mutation engine

MAGIC = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff",
         b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BZh9", b"\n", b"\r\n", b"\t", b",", b"\"", b"=", b"[", b"]",
         b"(", b")", b"..", b"/", "\ufeff".encode(), "\u0663".encode(), b"\xc3\x28", b"nan", b"-1", b"99999999999"]


def mutate(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    d = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5, 8))):
        op = rng.randrange(8)
        p = rng.randrange(len(d) + 1)
        if op == 0 and d:
            d[min(p, len(d) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and d:
            d[min(p, len(d) - 1)] = rng.randrange(256)
        elif op == 2:
            d[p:p] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3 and d:
            del d[p:p + rng.randint(1, 64)]
        elif op == 4:
            del d[p:]
        elif op == 5:
            d[p:p] = rng.choice(MAGIC)
        elif op == 6 and corpus:
            other = rng.choice(corpus)
            q = rng.randrange(len(other) + 1)
            d = d[:p] + other[q:q + rng.randint(1, 256)]
        elif op == 7 and d:
            q = rng.randrange(len(d))
            d[p:p] = d[q:q + rng.randint(1, 32)] * rng.randint(1, 8)  # repeated runs
    return bytes(d)


@dataclass
class Report:
    target: str
    engine: str
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    handled: int = 0             # documented errors (ImageError, ConfigError, …)
    seconds: float = 0.0
    peak_mb: float = 0.0
    saved: list[str] = field(default_factory=list)

    def row(self) -> str:
        rate = self.inputs / self.seconds if self.seconds else 0.0
        return (f"| {self.target} | {self.engine} | {self.inputs:,} | {self.crashes} | {self.hangs} | {self.handled:,} | "
                f"{rate:,.0f}/s | {self.peak_mb:.0f} MB |")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_target(name: str, inputs: int = 1000, seconds: float | None = None, seed: int = 0,
               out_dir: str | Path | None = None, progress: Callable[[int], None] | None = None) -> Report:
    """The mutation engine on one target in this process: ``inputs`` inputs (or until ``seconds``)."""
    t = targets()[name]
    rng = random.Random(seed)
    corpus = t.seeds()
    rep = Report(name, "mutate")
    out = Path(out_dir) if out_dir else None
    if t.setup:
        t.setup()
    current = {"data": b"", "since": None}

    def watchdog():  # a hang in native code cannot be interrupted: save the input and end the process
        while True:
            time.sleep(0.5)
            since = current["since"]
            if since is not None and time.monotonic() - since > HANG_SECONDS:
                if out:
                    out.mkdir(parents=True, exist_ok=True)
                    (out / f"{name}-hang-{seed}-{rep.inputs}.bin").write_bytes(current["data"])
                print(f"HANG {name} input {rep.inputs}", file=sys.stderr, flush=True)
                os._exit(124)

    threading.Thread(target=watchdog, daemon=True).start()
    t0 = time.monotonic()
    try:
        while rep.inputs < inputs and (seconds is None or time.monotonic() - t0 < seconds):
            data = corpus[rep.inputs] if rep.inputs < len(corpus) else mutate(rng.choice(corpus), rng, corpus)
            current.update(data=data, since=time.monotonic())
            try:
                t.run(data)
            except t.allowed:
                rep.handled += 1
            except Exception as e:  # noqa: BLE001 — anything else is what we are looking for
                rep.crashes += 1
                if out:
                    out.mkdir(parents=True, exist_ok=True)
                    path = out / f"{name}-crash-{seed}-{rep.inputs}.bin"
                    path.write_bytes(data)
                    path.with_suffix(".txt").write_text("".join(traceback.format_exception(e)))
                    rep.saved.append(str(path))
            took = time.monotonic() - current["since"]
            current["since"] = None
            if took > HANG_SECONDS:
                rep.hangs += 1
            elif rep.inputs >= len(corpus) and len(corpus) < 2000 and rng.random() < 0.01:
                corpus.append(data)  # keep some mutants as new seeds: deeper inputs over time
            rep.inputs += 1
            if progress and rep.inputs % 1000 == 0:
                progress(rep.inputs)
    finally:
        rep.peak_mb = max(_peak_mb(), t.peak_mb() if t.peak_mb else 0.0)
        if t.teardown:
            t.teardown()
    rep.seconds = time.monotonic() - t0
    return rep


def run_atheris(name: str, inputs: int, seconds: float | None, out_dir: str | Path | None) -> Report:
    """Coverage-guided fuzzing of one target with atheris (libFuzzer) in this process."""
    import atheris

    with atheris.instrument_imports(include=["agegender"]):  # coverage of our own code guides the search
        import agegender.config
        import agegender.datasets.adience
        import agegender.datasets.extra
        import agegender.datasets.utkface
        import agegender.imaging
        import agegender.manifest  # noqa: F401
    t = targets()[name]
    rep = Report(name, "atheris")
    out = Path(out_dir or tempfile.mkdtemp(prefix="agegender-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    corpus_dir = out / f"{name}-corpus"
    corpus_dir.mkdir(exist_ok=True)
    for i, s in enumerate(t.seeds()):
        (corpus_dir / f"seed-{i}").write_bytes(s)
    if t.setup:
        t.setup()
    counter = {"n": 0, "handled": 0}
    t0 = time.monotonic()

    def report() -> None:  # libFuzzer ends the process itself: the parent reads the last report
        rep.inputs, rep.handled = counter["n"], counter["handled"]
        rep.seconds, rep.peak_mb = time.monotonic() - t0, _peak_mb()
        print("REPORT " + repr(rep.__dict__), flush=True)

    def one(data: bytes) -> None:
        counter["n"] += 1
        try:
            t.run(data)
        except t.allowed:
            counter["handled"] += 1
        if counter["n"] % 1000 == 0 or counter["n"] >= inputs:
            report()

    args = [sys.argv[0], f"-runs={inputs}", f"-timeout={int(HANG_SECONDS)}", "-rss_limit_mb=4096",
            f"-artifact_prefix={out}/{name}-", str(corpus_dir)]
    if seconds:
        args.insert(2, f"-max_total_time={int(seconds)}")
    atheris.Setup(args, one)
    atheris.Fuzz()  # libFuzzer exits the process when done; a crash exits non-zero with the input saved
    return rep


def campaign(names: list[str], inputs: int, seconds: float | None, engine: str = "mutate",
             out_dir: str | Path | None = None, seed: int = 0) -> list[Report]:
    """Each target in its own process (a hang or native crash ends only that run; peak memory is per target)."""
    import ast

    reports = []
    for name in names:
        cmd = [sys.executable, "-m", "agegender.bench.fuzz", name, str(inputs), str(seconds or 0), engine,
               str(out_dir or ""), str(seed)]
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        line = next((x for x in reversed(p.stdout.splitlines()) if x.startswith("REPORT ")), None)
        if line:
            rep = Report(**ast.literal_eval(line[len("REPORT "):]))
        else:
            rep = Report(name, engine, seconds=time.monotonic() - t0)
            if p.returncode == 124:
                rep.hangs += 1
            else:
                rep.crashes += 1
            rep.saved.append(p.stderr[-2000:])
        if engine == "atheris" and p.returncode not in (0, None) and "crash-" in p.stderr + p.stdout:
            rep.crashes = max(rep.crashes, 1)
        reports.append(rep)
    return reports


def _main(argv: list[str]) -> None:
    name, inputs, seconds, engine, out_dir, seed = argv
    secs = float(seconds) or None
    if engine == "atheris":
        run_atheris(name, int(inputs), secs, out_dir or None)
        return
    rep = run_target(name, int(inputs), secs, int(seed), out_dir or None)
    print("REPORT " + repr(rep.__dict__), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
