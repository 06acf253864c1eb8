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
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

MAP = "conv_dw_13_relu/clip_by_value:0"  # the last block's input (after the last depthwise convolution)
POOLED = "global_pooling/Mean:0"
WEIGHTS = ("conv_pw_13/convolution/merged_input:0__fp16", "conv_pw_13_bn/batchnorm_1/sub:0__fp16")


def extract(manifest: str, work: Path) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from agegender.faces import FacePipeline
    from agegender.features.faceres import INPUT, FaceResDeep, model_file
    from agegender.imaging import load_image
    from agegender.manifest import read

    m = onnx.load(str(model_file()))
    m.graph.output.append(helper.make_tensor_value_info(MAP, TensorProto.FLOAT, None))
    init = {i.name: i for i in m.graph.initializer}
    np.save(work / "pw13_w.npy", numpy_helper.to_array(init[WEIGHTS[0]]).astype(np.float32))
    np.save(work / "pw13_b.npy", numpy_helper.to_array(init[WEIGHTS[1]]).astype(np.float32))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    recs = read(manifest).records
    pipe = FacePipeline("aligned")
    maps = np.lib.format.open_memmap(work / "map.npy", mode="w+", dtype=np.float16, shape=(len(recs), 7, 7, 1024))
    pooled, ok = np.zeros((len(recs), 1024), np.float32), np.zeros(len(recs), bool)
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        pool, mp = sess.run([POOLED, MAP], {INPUT: FaceResDeep.prepare(np.stack([c for _, c in batch]))})
        mp = np.asarray(mp).transpose(0, 2, 3, 1) if np.asarray(mp).shape[1] == 1024 else np.asarray(mp)
        for k, (i, _) in enumerate(batch):
            maps[i], pooled[i], ok[i] = mp[k].astype(np.float16), pool[k], True
        batch.clear()

    t = time.time()
    for i, rec in enumerate(recs):
        image = load_image(rec.full_path.read_bytes(), name=str(rec.full_path))
        faces = pipe.faces(image)
        if faces:
            batch.append((i, pipe.chip(image, faces[0], 224, 0.2, [])))
        if len(batch) == 2:
            flush()
    if batch:
        flush()
    maps.flush()
    np.save(work / "pooled.npy", pooled)
    np.save(work / "ok.npy", ok)
    print(f"{ok.sum()} of {len(recs)} faces in {time.time() - t:.0f} s → {work / 'map.npy'}")


def train(manifest: str, work: Path, mode: str, fold: int, epochs: int, extra: str = "") -> None:
    import keras

    from agegender.features.cache import FeatureSet
    from agegender.manifest import read
    from agegender.splits import stratified_kfold

    recs = read(manifest).records
    ok, maps = np.load(work / "ok.npy"), np.load(work / "map.npy", mmap_mode="r")
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
    x_train = np.asarray(maps[tr])
    mu, sd = ext[tr].mean(0), ext[tr].std(0) + 1e-6
    ext = (ext - mu) / sd
    inp, inp_extra = keras.Input((7, 7, 1024)), keras.Input((ext.shape[1],))
    conv = keras.layers.Conv2D(1024, 1, name="pw13", trainable=mode == "tuned")
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU(max_value=6.0)(conv(inp)))
    joined = keras.layers.Concatenate()([pooled, inp_extra]) if ext.shape[1] else pooled
    h = keras.layers.Dense(512, activation="relu")(keras.layers.Dropout(0.2)(joined))
    h = keras.layers.Dropout(0.5)(h)
    model = keras.Model([inp, inp_extra], [keras.layers.Dense(8, activation="softmax", name="age")(h),
                              keras.layers.Dense(2, activation="softmax", name="gender")(h)])
    w = np.load(work / "pw13_w.npy").reshape(1024, 1024)
    conv.set_weights([w.T.reshape(1, 1, 1024, 1024), np.load(work / "pw13_b.npy").reshape(-1)])
    check = keras.Model(inp, pooled).predict(np.asarray(maps[tr[:8]], np.float32), verbose=0)
    print(f"pooled vs faceres-deep's own: max difference {np.abs(check - np.load(work / 'pooled.npy')[tr[:8]]).max():.1e}")

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(fold)
            self.on_epoch_end()

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(len(tr))

        def __len__(self) -> int:
            return int(np.ceil(len(tr) / 128))

        def __getitem__(self, k: int):
            j = self.order[k * 128:(k + 1) * 128]
            a, g = y_age[tr[j]], y_gender[tr[j]]
            return ((x_train[j].astype(np.float32), ext[tr[j]]),
                    (keras.utils.to_categorical(np.maximum(a, 0), 8), keras.utils.to_categorical(g, 2)),
                    ((a >= 0).astype("float32"), np.ones(len(j), "float32")))  # gap ages: gender only

    schedule = keras.optimizers.schedules.CosineDecay(1e-4, len(Batches()) * epochs)
    model.compile(keras.optimizers.AdamW(schedule, weight_decay=1e-2), loss=["categorical_crossentropy"] * 2)
    t = time.time()
    model.fit(Batches(), epochs=epochs, verbose=0)
    seconds = time.time() - t
    for name, idx in (("val", va), ("test", te)):
        pa, pg = model.predict([np.asarray(maps[idx], np.float32), ext[idx]], batch_size=256, verbose=0)
        aged = y_age[idx] >= 0
        print(f"{mode}{' + extra' if ext.shape[1] else ''} fold {fold} {name} ({len(idx)}): gender {100 * (pg.argmax(1) == y_gender[idx]).mean():.2f} "
              f"exact {100 * (pa.argmax(1) == y_age[idx])[aged].mean():.2f} "
              f"1-off {100 * (np.abs(pa.argmax(1) - y_age[idx]) <= 1)[aged].mean():.2f}  (trained {seconds:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["extract", "train"])
    ap.add_argument("manifest", help="utk.csv (agegender data utkface)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the cached maps")
    ap.add_argument("--mode", choices=["frozen", "tuned"], default="tuned")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--extra", default="", help="comma-separated frozen feature files of the manifest to join")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.step == "extract":
        extract(args.manifest, args.work)
    else:
        train(args.manifest, args.work, args.mode, args.fold, args.epochs, args.extra)


if __name__ == "__main__":
    main()
