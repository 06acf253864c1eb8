"""What this machine lets a job use: cores, and the limits the CLI and the API check arguments against."""

from __future__ import annotations

import os

#: Threads per usable core above which onnxruntime only thrashes (and 100,000 threads hang a machine).
THREADS_PER_CORE = 4
#: Smallest and largest side for the detector's copy of an image (``--detect-size``).
DETECT_SIZE_RANGE = (32, 8192)


def onnx_session(model, threads: int = 1):
    """An onnxruntime CPU session for ``model`` (a path or the model's bytes) on ``threads`` threads, one
    operator at a time: how every network here runs, so that worker processes do not oversubscribe cores."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), opts, providers=["CPUExecutionProvider"])


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's share), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def max_threads() -> int:
    return THREADS_PER_CORE * usable_cores()


def check_threads(threads: int) -> int:
    """``threads`` if it is sensible here, else a ``ValueError`` saying the range."""
    hi = max_threads()
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= hi:
        raise ValueError(f"threads must be between 1 and {hi} ({THREADS_PER_CORE} per usable core), got {threads!r}")
    return threads


def check_detect_size(size: int | None) -> int | None:
    lo, hi = DETECT_SIZE_RANGE
    if size is not None and not lo <= size <= hi:
        raise ValueError(f"detect size must be between {lo} and {hi} pixels, got {size}")
    return size
