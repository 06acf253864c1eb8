"""Speed of live mode (the page's camera, the model on the device) in headless Chromium on this machine.

For each model (the default, and the fast one with `serve --fast`): starts `agegender serve`, opens the
page with Chromium's fake camera playing a 640×480 video of the bundled portrait, starts live mode,
lets it warm up, then counts frames for --seconds and prints frames per second and the end-to-end
latency per frame (grab → detect → features → model → tracker → drawing). With --camera empty (or both)
the fake camera shows the background alone: what a frame with nobody in view costs (detection only).
WebAssembly, one thread; on a phone expect other figures: this measures this machine's CPU.

    python scripts/bench_live.py [--seconds 20] [--camera portrait|empty|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_live_browser import _browser  # noqa: E402  (the test's Chromium with a fake camera)
from test_web import start_server, stop_server  # noqa: E402


def measure(extra: tuple[str, ...], seconds: float, face: bool = True) -> dict:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    proc, base = start_server("--workers", "1", *extra)
    with tempfile.TemporaryDirectory() as d:
        browser = _browser(Path(d), camera=True, face=face)
        try:
            browser.get(base + "/")
            t0 = time.perf_counter()
            browser.find_element(By.ID, "live-start").click()
            WebDriverWait(browser, 300).until(lambda b: b.execute_script("return window.agegenderLive.frames") >= 1)
            first = time.perf_counter() - t0
            WebDriverWait(browser, 300).until(lambda b: b.execute_script("return window.agegenderLive.frames") >= 10)
            start_frames = browser.execute_script("return window.agegenderLive.frames")
            lat = []
            t1 = time.perf_counter()
            while time.perf_counter() - t1 < seconds:
                lat.append(browser.execute_script("return window.agegenderLive.latency_ms"))
                time.sleep(0.25)
            frames = browser.execute_script("return window.agegenderLive.frames") - start_frames
            elapsed = time.perf_counter() - t1
        finally:
            browser.quit()
            stop_server(proc)
    lat.sort()
    return {"first_frame_s": round(first, 1), "fps": round(frames / elapsed, 1), "latency_ms_median": round(lat[len(lat) // 2], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--model", help="a model folder to measure instead of the built-in default")
    ap.add_argument("--camera", choices=("portrait", "empty", "both"), default="portrait",
                    help="what the fake camera shows: the bundled portrait, the background alone, or both in turn")
    args = ap.parse_args()
    print("| model | camera | first frame (loading the models included) | frames/s | latency per frame (median) |")
    print("|---|---|---|---|---|")
    default = ("--model", args.model) if args.model else ()
    cameras = {"portrait": (True,), "empty": (False,), "both": (True, False)}[args.camera]
    for name, extra in ((args.model or "default", default), ("fast (`serve --fast`)", ("--fast",))):
        for face in cameras:
            r = measure(extra, args.seconds, face)
            print(f"| {name} | {'portrait' if face else 'empty'} | {r['first_frame_s']} s | {r['fps']} | "
                  f"{r['latency_ms_median']} ms |", flush=True)


if __name__ == "__main__":
    main()
