"""`agegender bench …`: speed and detection benchmarks that print their figures."""

from __future__ import annotations

from agegender.cli.common import (
    DETECTORS,
    default_photo,
)


def cmd_bench_speed(args) -> int:
    from agegender.bench import speed

    photo = args.photo or str(default_photo())
    for threads in args.threads:
        print(f"\n## per step, {threads} thread(s), photo {photo}")
        for name, ms in speed.step_timings(photo, threads=threads, repeat=args.repeat):
            print(f"  {ms:9.3f} ms  {name}")
        if args.folder:
            r = speed.folder_throughput(args.folder, extractor=args.extractor, detector=args.detector,
                                        threads=threads, limit=args.limit)
            print(f"  folder {r['folder']}: {r['faces']} faces of {r['images']} images in {r['seconds']:.1f} s = "
                  f"{r['faces_per_s']:.1f} faces/s (detector {r['detector']}, extractor {r['extractor']})")
    return 0


def cmd_bench_predict(args) -> int:
    from agegender.bench import speed

    photo = args.photo or str(default_photo())
    for threads in args.threads:
        print(f"\n## prediction, {threads} thread(s), model {args.model or 'built-in'}")
        for name, value in speed.predictor_timings(args.model, photo, args.folder, threads, args.repeat, args.limit,
                                                         args.workers, args.detect_size):
            print(f"  {value:>14}  {name}")
    return 0


def cmd_bench_detect(args) -> int:
    from agegender.bench import detection

    rows = detection.run(args.faces, n_scenes=args.scenes, seed=args.seed, detectors=tuple(args.detectors), threads=args.threads,
                         max_sides=tuple(args.max_side) if args.max_side else (None,))
    print("| detector | scenes | faces | found | found rate | false positives | ms/image |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['detector']} | {r['suite']} | {r['faces']} | {r['found']} | {100 * r['found_rate']:.1f} % | "
              f"{r['false_positives']} | {r['ms_per_image']:.1f} |")
    return 0


def cmd_bench_load(args) -> int:
    from agegender.bench import load

    r = load.run(args.url, args.photo or str(default_photo()), clients=args.clients, seconds=args.seconds,
                 max_requests=args.max_requests)
    lat = r["latency_ms"]
    print(f"{r['clients']} clients, {r['seconds']} s: {r['ok']} answered ({r['requests_per_s']}/s), "
          f"errors {r['errors'] or 0}; latency ms p50 {lat['p50']}, p90 {lat['p90']}, p99 {lat['p99']}, max {lat['max']}")
    return 0 if not r["errors"] else 1


def register(sub) -> None:
    b = sub.add_parser("bench", help="speed and detection benchmarks (print their figures)")
    bsub = b.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    bs = bsub.add_parser("speed", help="ms per face for decode, detection, alignment and each extractor")
    bs.add_argument("--photo", help="photo with one face (default: the bundled astronaut portrait)")
    bs.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    bs.add_argument("--repeat", type=int, default=20)
    bs.add_argument("--folder", help="also measure faces/s over this folder of images")
    bs.add_argument("--detector", choices=DETECTORS, default="aligned", help="detector for --folder")
    bs.add_argument("--extractor", default="agnet", help="extractor for --folder")
    bs.add_argument("--limit", type=int, default=500, help="images of --folder to use")
    bs.set_defaults(func=cmd_bench_speed)
    bp = bsub.add_parser("predict", help="prediction speed: model alone, end to end, faces/s, size; beside the peer")
    bp.add_argument("--model", help="model artifact folder (default: the built-in model)")
    bp.add_argument("--photo", help="photo with one face (default: the bundled astronaut portrait)")
    bp.add_argument("--folder", help="also measure faces/s over this folder of aligned face crops")
    bp.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    bp.add_argument("--repeat", type=int, default=20)
    bp.add_argument("--limit", type=int, default=300, help="images of --folder to use")
    bp.add_argument("--workers", type=int, default=2, help="processes for the --folder faces/s (also measured with 1)")
    bp.add_argument("--detect-size", type=int, help="longer side the detector sees (default: 640 for RetinaFace)")
    bp.set_defaults(func=cmd_bench_predict)
    bl = bsub.add_parser("load", help="N concurrent clients against a running `agegender serve` (this machine only)")
    bl.add_argument("--url", default="http://127.0.0.1:8000", help="the server (loopback only; default: %(default)s)")
    bl.add_argument("--clients", type=int, default=4)
    bl.add_argument("--seconds", type=float, default=60.0)
    bl.add_argument("--max-requests", type=int, default=10_000, help="stop after this many requests in all")
    bl.add_argument("--photo", help="image to send (default: the bundled astronaut portrait)")
    bl.set_defaults(func=cmd_bench_load)
    bd = bsub.add_parser("detect", help="found-rate of each detector on scenes pasted from real face crops")
    bd.add_argument("faces", help="folder of face crops (e.g. ../shared/data/utkface/crop_part1)")
    bd.add_argument("--scenes", type=int, default=100)
    bd.add_argument("--seed", type=int, default=0)
    bd.add_argument("--detectors", nargs="+", choices=DETECTORS[:2], default=list(DETECTORS[:2]))
    bd.add_argument("--threads", type=int, default=1)
    bd.add_argument("--max-side", type=int, nargs="+", help="detect on copies scaled to these longer sides (default: "
                    "each detector's own: RetinaFace 640, HOG 1024)")
    bd.set_defaults(func=cmd_bench_detect)
