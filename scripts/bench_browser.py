"""Speed of the in-browser (on-device) path: headless Chromium + onnxruntime-web on this machine.

Starts `agegender serve` on a free local port, opens the page, loads the models (timed), then runs
the on-device prediction on a photo N times and prints the median — the same code the phone runs
(on a phone expect other figures: this measures this machine's CPU through WebAssembly).

    python scripts/bench_browser.py [--photo PHOTO] [--repeat 10]
"""

from __future__ import annotations

import argparse
import base64
import shutil
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from agegender.cli import default_photo
from agegender.web import local


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photo", default=str(default_photo()))
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    server, base = local.start("--workers", "1")
    try:
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
        profile = tempfile.mkdtemp()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}"):
            opts.add_argument(a)
        drv = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        drv.set_script_timeout(600)
        try:
            drv.get(base + "/")
            load_ms = drv.execute_async_script(
                "const done = arguments[0], t = performance.now();"
                "AgeGenderDevice.load().then(() => done(performance.now() - t)).catch(e => done(String(e)));")
            photo = base64.b64encode(open(args.photo, "rb").read()).decode()
            times = drv.execute_async_script("""
                const [b64, n, done] = arguments;
                const file = new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], 'p.jpg', {type: 'image/jpeg'});
                (async () => {
                  const out = [];
                  for (let i = 0; i < n + 1; i++) {
                    const t = performance.now();
                    const r = await AgeGenderDevice.predict(file);
                    out.push([performance.now() - t, r.faces.length]);
                  }
                  done(out.slice(1));  // the first run warms up
                })().catch(e => done(String(e)));""", photo, args.repeat)
        finally:
            drv.quit()
            shutil.rmtree(profile, ignore_errors=True)
    finally:
        local.stop(server)
    if isinstance(times, str) or isinstance(load_ms, str):
        sys.exit(f"the page failed: {load_ms if isinstance(load_ms, str) else times}")
    ms = sorted(t for t, _ in times)
    print(f"model loading (runtime + the ONNX models device.json lists, from the local server): {load_ms:.0f} ms")
    print(f"on-device prediction, {args.photo}, {times[0][1]} face(s): median {ms[len(ms) // 2]:.0f} ms, "
          f"best {ms[0]:.0f} ms over {len(ms)} runs (decode + detect + align + extractors + head, WebAssembly, 1 thread)")


if __name__ == "__main__":
    main()
