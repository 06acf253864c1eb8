"""Screen: does fine-tuning faceres-deep's last block beat its frozen features? (issue #11, docs/BENCHMARKS.md)

faceres-deep is a MobileNet; its last block (``conv_pw_13``, a 1x1 convolution 1024 → 1024 on a 7x7
map, then ReLU6 and the global average that the ``faceres`` extractor gives) is where it turns face
structure into what it was trained for (identity, then age and gender). This caches the block's input
(7x7x1024 per face, float16: 100 KB) once, then trains the same head — dropout, 512 ReLU, an age-group
and a gender softmax — on top of that block either frozen (faceres-deep's own weights) or fine-tuned,
on the UTKFace originals of one utkface-a8 fold. Only faceres-deep's features, no copies: a screen
of the lever, not a candidate model.

    python scripts/faceres_tail_study.py extract WORK/utk.csv --work FR          # ~3 min, 2.2 GB
    for k in 0 1 2 3 4; do for m in frozen tuned; do
      python scripts/faceres_tail_study.py train WORK/utk.csv --work FR --mode $m --fold $k; done; done

``--extra F1.npz,F2.npz`` (``agegender features`` of the same manifest, e.g. dlib128 and agnet) joins
other frozen features to the head: does the gain survive beside them?

``default``: the block inside the default model's network (configs/dlibtail.toml: dlib's fine-tuned
stage, agnet, faceres, the years head, calibration, thresholds), fold by fold, on the manifest the
default was benchmarked on (UTKFace + phone-like copies, and each original's retina5 view); the maps
extracted as the features were (dlib-aligned crops; the views, of the first 21,705 rows = utk.csv, by RetinaFace)::

    python scripts/faceres_tail_study.py extract utk+aug.csv --work FD --threads 1 &
    python scripts/faceres_tail_study.py extract utk+aug.csv --work FD --rows :21705 --views --detector retinaface --landmarks retina5 --threads 1
    python scripts/faceres_tail_study.py default utk+aug.csv --features utk+aug-dlibtrunk.npz,utk+aug-agnet.npz,utk+aug-faceres.npz \\
        --views utk-dlibtrunk-rf-retina5.npz,utk-agnet-rf-retina5.npz,utk-faceres-rf-retina5.npz \\
        --work FD --fold 0 --out FD/runs        # ~27 min a fold; --no-map: the same without the block

(``agegender features … --extractor faceresmap`` gives the same maps inside the package's own path:
``agegender benchmark`` trains such a model when ``faceresmap`` is the last feature file.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from agegender.features.faceres import MAP_OUTPUT as MAP
from agegender.features.faceres import OUTPUTS

POOLED = OUTPUTS[0]  # MAP: the last block's input (after the last depthwise convolution)


def extract(manifest: str, work: Path, detector: str = "aligned", landmarks: str = "dlib", rows: str = ":",
            threads: int = 2, views: bool = False) -> None:
    """Cache the block's input for the manifest's rows ``rows`` (``a:b``) into ``work/map.npy`` (created on
    first use, one row per manifest record and as many again for views; several processes may fill
    different rows), with the pooled output (``pooled-A-B.npy``, to check against the ``faceres``
    features) and which rows have a face (``ok-A-B.npy``; A, B: rows of map.npy). ``views``: these are the
    rows' views (``--views`` of ``agegender benchmark``): stored after the manifest's own rows."""
    from agegender.faces import FacePipeline
    from agegender.features.faceres import INPUT, FaceResDeep, with_map_output
    from agegender.imaging import load_image
    from agegender.manifest import read
    from agegender.resources import onnx_session

    sess = onnx_session(with_map_output(), threads)
    recs = read(manifest).records
    a, b = (int(v) if v else d for v, d in zip(rows.split(":"), (0, len(recs))))
    pipe = FacePipeline(detector, landmarks=landmarks)
    path = work / "map.npy"
    if not path.exists():  # a sparse file: rows never written take no disk
        np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(2 * len(recs), 7, 7, 1024)).flush()
    maps = np.load(path, mmap_mode="r+")
    if maps.shape[0] != 2 * len(recs):
        raise SystemExit(f"{path}: {maps.shape[0]} rows, not twice the manifest's {len(recs)}")
    at = len(recs) if views else 0  # where row i of the manifest goes: at + i
    pooled, ok = np.zeros((b - a, 1024), np.float32), np.zeros(b - a, bool)
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        pool, mp = sess.run([POOLED, MAP], {INPUT: FaceResDeep.prepare(np.stack([c for _, c in batch]))})
        mp = np.asarray(mp).transpose(0, 2, 3, 1) if np.asarray(mp).shape[1] == 1024 else np.asarray(mp)
        for k, (i, _) in enumerate(batch):
            maps[at + i], pooled[i - a], ok[i - a] = mp[k].astype(np.float16), pool[k], True
        batch.clear()

    t = time.time()
    for i in range(a, b):
        rec = recs[i]
        try:
            image = load_image(rec.full_path.read_bytes(), name=str(rec.full_path))
        except Exception as e:  # noqa: BLE001  (a screen: report and go on)
            print(f"{rec.full_path}: {e}")
            continue
        faces = pipe.faces(image)
        if faces:
            batch.append((i, pipe.chip(image, faces[0], 224, 0.2, [])))
        if len(batch) == 2:
            flush()
    if batch:
        flush()
    maps.flush()
    tag = "" if (a, b, at) == (0, len(recs), 0) else f"-{at + a}-{at + b}"
    np.save(work / f"pooled{tag}.npy", pooled)
    np.save(work / f"ok{tag}.npy", ok)
    print(f"rows {a}:{b}{' (views)' if views else ''}: {ok.sum()} of {b - a} faces in {time.time() - t:.0f} s → {path}")


def train(manifest: str, work: Path, mode: str, fold: int, epochs: int, extra: str = "") -> None:
    import keras

    from agegender.features.cache import FeatureSet
    from agegender.manifest import read
    from agegender.models.faceres_tail import MAP_DIM, tail
    from agegender.splits import stratified_kfold
    from agegender.training import shuffled_batches

    recs = read(manifest).records
    ok, maps = np.load(work / "ok.npy"), np.load(work / "map.npy", mmap_mode="r")

    def flat(r: np.ndarray) -> np.ndarray:
        return np.asarray(maps[r], np.float32).reshape(len(r), MAP_DIM)

    ext = np.zeros((len(recs), 0), np.float32)
    for path in filter(None, extra.split(",")):
        fs = FeatureSet.load(path)
        block = np.zeros((len(recs), fs.features.shape[1]), np.float32)
        block[fs.rows] = fs.features
        ok = ok & np.isin(np.arange(len(recs)), fs.rows)
        ext = np.concatenate([ext, block], axis=1)
    sp = stratified_kfold(recs, k=5, seed=0, val_fraction=0.1, test_source="utkface")[fold]
    y_age = np.array([-1 if r.age_group is None else r.age_group for r in recs])
    y_gender = np.array([r.gender for r in recs])
    tr, va, te = (np.array([i for i in s if ok[i]]) for s in (sp.train, sp.val, sp.test))
    mu, sd = ext[tr].mean(0), ext[tr].std(0) + 1e-6
    ext = (ext - mu) / sd
    inp, inp_extra = keras.Input((MAP_DIM,)), keras.Input((ext.shape[1],))
    pooled = tail(inp, trainable=mode == "tuned")  # faceres-deep's own weights
    joined = keras.layers.Concatenate()([pooled, inp_extra]) if ext.shape[1] else pooled
    h = keras.layers.Dense(512, activation="relu")(keras.layers.Dropout(0.2)(joined))
    h = keras.layers.Dropout(0.5)(h)
    model = keras.Model([inp, inp_extra], {"age": keras.layers.Dense(8, activation="softmax", name="age")(h),
                                           "gender": keras.layers.Dense(2, activation="softmax", name="gender")(h)})
    check = keras.Model(inp, pooled).predict(flat(tr[:8]), verbose=0)
    print(f"pooled vs faceres-deep's own: max difference {np.abs(check - np.load(work / 'pooled.npy')[tr[:8]]).max():.1e}")

    y = {"age": keras.utils.to_categorical(np.maximum(y_age[tr], 0), 8), "gender": keras.utils.to_categorical(y_gender[tr], 2)}
    w = {"age": (y_age[tr] >= 0).astype("float32"), "gender": np.ones(len(tr), "float32")}  # gap ages: gender only
    batches = shuffled_batches(lambda r: (flat(r), ext[r]), tr, y, w, 128, fold)
    schedule = keras.optimizers.schedules.CosineDecay(1e-4, len(batches) * epochs)
    model.compile(keras.optimizers.AdamW(schedule, weight_decay=1e-2), loss={"age": "categorical_crossentropy", "gender": "categorical_crossentropy"})
    t = time.time()
    model.fit(batches, epochs=epochs, verbose=0)
    seconds = time.time() - t
    for name, idx in (("val", va), ("test", te)):
        out = model.predict([flat(idx), ext[idx]], batch_size=256, verbose=0)
        pa, pg = np.asarray(out["age"]), np.asarray(out["gender"])
        aged = y_age[idx] >= 0
        print(f"{mode}{' + extra' if ext.shape[1] else ''} fold {fold} {name} ({len(idx)}): gender {100 * (pg.argmax(1) == y_gender[idx]).mean():.2f} "
              f"exact {100 * (pa.argmax(1) == y_age[idx])[aged].mean():.2f} "
              f"1-off {100 * (np.abs(pa.argmax(1) - y_age[idx]) <= 1)[aged].mean():.2f}  (trained {seconds:.0f} s)")


def default(manifest: str, features: str, views: str, work: Path, fold: int, out: Path, with_map: bool, config: str) -> None:
    """The default model's network and training (``config``, as ``agegender benchmark`` runs a fold), with
    faceres-deep's last block fine-tuned beside dlib's stage on the cached maps (``with_map``) or without
    it (the same data path, for a like-for-like baseline). Prints gender / exact / 1-off / joint /
    coverage on the fold's test faces, on their phone-like copies and on their ``retina5`` views."""
    import json

    import keras

    from agegender import evaluation, trainset
    from agegender.augment import is_view
    from agegender.config import load as load_config
    from agegender.models import build_model
    from agegender.models.faceres_tail import MAP_DIM
    from agegender.splits import copies_of
    from agegender.targets import targets
    from agegender.training import (
        _optimizer,
        _trunk_columns,
        calibrate,
        choose_thresholds,
        fuse_years,
        shuffled_batches,
    )

    cfg = load_config(config)
    data = trainset.load(manifest, features, views=views)
    from agegender.manifest import read

    row_of = {r.key: i for i, r in enumerate(read(manifest).records)}
    maps = np.load(work / "map.npy", mmap_mode="r")
    ok = np.zeros(len(maps), bool)
    for part in sorted(work.glob("ok-*.npy")):
        a, b = (int(v) for v in part.stem.split("-")[1:])
        ok[a:b] = np.load(part)
    # a view's map sits after the manifest's own rows (extract --views)
    mrow = np.array([len(row_of) + row_of[r.key[:-5]] if r.key.endswith("#view") else row_of[r.key] for r in data.records])
    has = ok[mrow]
    sp = trainset.make_split(data, "utkface-a8", fold, val_fraction=cfg.data.val_fraction, seed=cfg.data.seed)
    tr, va, te = (np.array([i for i in s if has[i]], dtype=np.int64) for s in (sp.train, sp.val, sp.test))
    print(f"fold {fold}: train {len(tr)} (of {len(sp.train)}), val {len(va)} (of {len(sp.val)}), test {len(te)} (of {len(sp.test)})")
    X = data.X
    trunk = _trunk_columns(cfg, data)
    mean, var = X[tr].mean(0), np.maximum(X[tr].var(0), 1e-6)
    mean[:trunk], var[:trunk] = 0.0, 1.0
    extra = MAP_DIM if with_map else 0
    if with_map:
        mean, var = np.concatenate([mean, np.zeros(MAP_DIM, np.float32)]), np.concatenate([var, np.ones(MAP_DIM, np.float32)])

    def rows(idx: np.ndarray) -> np.ndarray:
        if not with_map:
            return X[idx]
        order = np.argsort(mrow[idx])  # memmap reads in file order
        m = np.empty((len(idx), MAP_DIM), np.float32)
        m[order] = np.asarray(maps[mrow[idx][order]], np.float32).reshape(len(idx), MAP_DIM)
        return np.concatenate([X[idx], m], axis=1)

    keras.utils.set_random_seed(cfg.data.seed)
    y_tr, w_tr = targets(cfg, data.train_age_labels(tr, cfg.data.gap_ages), data.y_gender[tr], data.age_years[tr])
    model = build_model(cfg, X.shape[1] + extra, mean, var, trunk, map_tail="faceresmap" if with_map else None)
    bs = cfg.train.batch_size

    batches = shuffled_batches(rows, tr, y_tr, w_tr, bs, cfg.data.seed + fold)
    steps = len(batches)
    loss_weights = {"age": 1.0, "gender": cfg.train.gender_loss_weight} | ({"years": cfg.train.years_loss_weight} if "years" in y_tr else {})
    model.compile(optimizer=_optimizer(cfg, steps), loss={k: cfg.train.loss for k in y_tr}, loss_weights=loss_weights,
                  weighted_metrics={k: ["accuracy"] for k in ("age", "gender")})
    Xva = rows(va)
    y_va, w_va = targets(cfg, data.y_age[va], data.y_gender[va], data.age_years[va])
    t = time.time()
    hist = model.fit(batches, validation_data=(Xva, y_va, w_va), epochs=cfg.train.epochs, verbose=2,
                     callbacks=[keras.callbacks.EarlyStopping(patience=cfg.train.early_stopping, restore_best_weights=True)])
    seconds = time.time() - t
    model, fused = fuse_years(model, Xva, data.y_age[va])
    model, calib = calibrate(model, Xva, data.y_age[va], data.y_gender[va])
    out_v = model.predict(Xva, batch_size=256, verbose=0)
    thr = choose_thresholds(cfg, np.asarray(out_v["age"]), np.asarray(out_v["gender"]), data.y_age[va], data.y_gender[va])
    test_keys = {data.records[i].key for i in te}
    views = np.array([i for i in copies_of(data.records, test_keys, np.arange(len(data.records))) if has[i]
                      and is_view(data.records[i])], dtype=np.int64)
    phone = np.array([i for i in copies_of(data.records, test_keys, np.arange(len(data.records)), phone_only=True) if has[i]],
                     dtype=np.int64)
    report = {"fold": fold, "with_map": with_map, "train_seconds": round(seconds, 1), "epochs": len(hist.history["loss"]),
              "fusion": fused, "calibration": calib, "thresholds": [thr.age, thr.gender]}
    out.mkdir(parents=True, exist_ok=True)
    for name, idx in (("crops", te), ("phone-like copies", phone), ("retina5 views", views)):
        pa, pg = [], []
        for k in range(0, len(idx), 512):
            o = model.predict(rows(idx[k:k + 512]), batch_size=256, verbose=0)
            pa.append(np.asarray(o["age"], np.float64))
            pg.append(np.asarray(o["gender"], np.float64))
        sc = evaluation.score(np.concatenate(pa), np.concatenate(pg), data.y_age[idx], data.y_gender[idx], thr)
        report[name] = {"n": len(idx), "gender": sc.gender, "exact": sc.age_exact, "one_off": sc.age_1off, "joint": sc.joint,
                        "coverage": sc.coverage, "covered_joint": sc.covered_joint}
        print(f"{'map' if with_map else 'base'} fold {fold} {name} ({len(idx)}): gender {100 * sc.gender:.2f} exact "
              f"{100 * sc.age_exact:.2f} 1-off {100 * sc.age_1off:.2f} joint {100 * sc.joint:.2f} coverage "
              f"{100 * sc.coverage:.1f} % ({seconds:.0f} s, {report['epochs']} epochs)", flush=True)
    (out / f"fold_{fold}-{'map' if with_map else 'base'}.json").write_text(json.dumps(report, indent=1))
    model.save(out / f"fold_{fold}-{'map' if with_map else 'base'}.keras")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["extract", "train", "default"])
    ap.add_argument("manifest", help="utk.csv (agegender data utkface)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the cached maps")
    ap.add_argument("--mode", choices=["frozen", "tuned"], default="tuned")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--extra", default="", help="comma-separated frozen feature files of the manifest to join")
    ap.add_argument("--detector", default="aligned", help="extract: the face detector (as `agegender features`)")
    ap.add_argument("--landmarks", default="dlib", help="extract: dlib or retina5 alignment")
    ap.add_argument("--rows", default=":", help="extract: the manifest rows a:b to do (default all)")
    ap.add_argument("--threads", type=int, default=2, help="extract: onnxruntime threads")
    ap.add_argument("--features", default="", help="default: the default model's feature files of the manifest")
    ap.add_argument("--views", default="", nargs="?", const="yes",
                    help="default: the views' feature files (as agegender benchmark --views); extract (no value): these rows' "
                         "views, stored after the manifest's own rows")
    ap.add_argument("--config", default="configs/dlibtail.toml", help="default: the model's config")
    ap.add_argument("--out", type=Path, default=Path("frtail-default"), help="default: where the reports go")
    ap.add_argument("--no-map", action="store_true", help="default: without the block (the baseline, same data path)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.step == "extract":
        extract(args.manifest, args.work, args.detector, args.landmarks, args.rows, args.threads, bool(args.views))
    elif args.step == "default":
        default(args.manifest, args.features, args.views, args.work, args.fold, args.out, not args.no_map, args.config)
    else:
        train(args.manifest, args.work, args.mode, args.fold, args.epochs, args.extra)


if __name__ == "__main__":
    main()
