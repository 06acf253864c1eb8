#!/usr/bin/env bash
# Build the seed frameworks' own environment beside the project: TFLearn 0.5.0 runs only on TensorFlow
# 2.12 (tensorflow-cpu), Pillow < 10 and numpy < 1.24, which cannot share agegender's install.
# Usage: bash scripts/seed-frameworks/setup.sh [VENV]   (default .venv-seed; reruns are quick)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${1:-.venv-seed}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "tensorflow-cpu==2.12.*" "tflearn==0.5.0" "pillow<10" "numpy<1.24" "matplotlib<3.8"
"$VENV/bin/python" - <<'PY'
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
import tflearn  # noqa: F401
assert tf.__version__.startswith("2.12"), tf.__version__
assert hasattr(tf, "estimator"), "tf.estimator (DNNClassifier) missing"
print(f"seed environment ready: TensorFlow {tf.__version__}, TFLearn 0.5.0")
PY
