"""agegender: the 8 Adience age groups and gender of a face, in one step."""

import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing on CPU-only machines) is not for our users;
# Python-level errors still raise as usual. Set TF_CPP_MIN_LOG_LEVEL yourself to see it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
