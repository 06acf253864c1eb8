"""`agegender data …`: build, merge and inspect unified dataset manifests."""

from __future__ import annotations

import sys

from agegender.cli.common import add_manifest_output, bounded, finish_manifest


def cmd_data_adience(args) -> int:
    from agegender.datasets import adience

    m = adience.load(args.folds, mode=args.mode, layout=args.layout, images_root=args.images)
    code = finish_manifest(m, args)
    if args.lists:
        print("\n".join(adience.compare_fold_lists(m, args.lists).lines()))
    return code


def cmd_data_utkface(args) -> int:
    from agegender.datasets import utkface

    return finish_manifest(utkface.load(args.root), args)


def cmd_data_gender_folders(args) -> int:
    from agegender.datasets import gender_folders

    return finish_manifest(gender_folders.load(args.root, source=args.source), args)


def cmd_data_adience_sample(args) -> int:
    from agegender.datasets import adience_sample

    info = adience_sample.build_tree(args.faces, args.out, n=args.n, per_user=args.per_user, seed=args.seed)
    print(f"wrote an Adience-format tree: {info['images']} images of {info['users']} users, per fold {info['folds']}, "
          f"in {info['root']} (aligned/, faces/, Folds/original_txt_files/)")
    return 0


def cmd_data_extra(args) -> int:
    from agegender.datasets import extra

    if args.data_command == "cfd":
        m = extra.load_cfd(args.root, workbook=args.workbook, age=args.age)
    elif args.data_command == "feret":
        m = extra.load_feret(args.root, resolution=args.resolution)
    elif args.data_command == "kdef":
        m = extra.load_kdef(args.root, frontal_only=args.frontal_only)
    elif args.data_command == "facetracer":
        m = extra.load_facetracer(args.root, args.images, coarse_age=args.coarse_age)
    elif args.data_command == "csv":
        m = extra.load_labels_csv(args.labels, args.root, args.source, file=args.file_column, age=args.age_column,
                                  gender=args.gender_column, race=args.race_column, subject=args.subject_column,
                                  male=tuple(args.male.split(",")) if args.male else (),
                                  female=tuple(args.female.split(",")) if args.female else (),
                                  delimiter="\t" if args.delimiter == "tab" else args.delimiter)
    elif args.data_command == "fairface":
        m = extra.load_fairface(args.root, split=args.split, mode=args.mode, labels_csv=args.labels)
    else:
        m = extra.load_pal(args.root, labels_csv=args.labels, pattern=args.pattern)
    return finish_manifest(m, args)


def cmd_data_merge(args) -> int:
    from agegender import manifest as mf

    m = mf.merge([mf.read(p) for p in args.manifests], names=args.manifests)
    return finish_manifest(m, args)


def cmd_data_sample(args) -> int:
    from agegender import manifest as mf

    return finish_manifest(mf.sample(mf.read(args.manifest), args.n, args.seed), args)


def cmd_data_split(args) -> int:
    from agegender import manifest as mf

    return finish_manifest(mf.split_part(mf.read(args.manifest), args.parts, args.part), args)


def cmd_data_relabel(args) -> int:
    from agegender import manifest as mf
    from agegender import relabel

    review = relabel.read_review(args.review)
    for problem in review.problems:
        print(f"agegender: {problem}", file=sys.stderr)
    applied = relabel.apply(mf.read(args.manifest), review)
    print(applied.summary())
    return finish_manifest(applied.manifest, args)


def cmd_data_augment(args) -> int:
    from agegender import augment
    from agegender import manifest as mf

    m = mf.read(args.manifest)
    if args.root:
        m = m.with_root(args.root)
    return finish_manifest(augment.augment(m, args.dir, copies=args.copies, seed=args.seed, workers=args.workers,
                                           progress=not args.quiet, shrink=args.shrink, tight=args.tight,
                                           gray=args.gray, occlude=args.occlude or "",
                                           turn=args.turn or 0, close=args.close_up, look=args.look or "",
                                           portraits=args.portrait), args)


def cmd_data_stats(args) -> int:
    from agegender import manifest as mf

    m = mf.read(args.manifest)
    if args.root:
        m = m.with_root(args.root)
    return finish_manifest(m, args)


def register(sub) -> None:
    from agegender.augment import ANY_LOOK, ANY_OCCLUSION, ANY_TURN, LOOKS, OCCLUSIONS, TURNS

    data = sub.add_parser("data", help="build and inspect unified dataset manifests")
    dsub = data.add_subparsers(dest="data_command", metavar="SOURCE", required=True)

    a = dsub.add_parser(
        "adience",
        help="Adience fold files → unified dataset",
        description="Read Adience fold_{0..4}_data.txt and build the unified dataset (strict: 16,156 images).",
    )
    a.add_argument("folds", help="folder holding fold_0_data.txt … fold_4_data.txt (or the download's Folds/)")
    a.add_argument("--mode", choices=("strict", "lenient"), default="strict",
                   help="strict: the 8 standard groups only (benchmark); lenient: also map odd age strings (training only)")
    a.add_argument("--layout", choices=("aligned", "faces"), default="aligned", help="which image layout the paths point to")
    a.add_argument("--images", metavar="ROOT", help="Adience image root holding aligned/ and faces/")
    a.add_argument("--lists", metavar="DIR", help="also read train_val_txt_files_per_fold and report disagreements")
    add_manifest_output(a)
    a.set_defaults(func=cmd_data_adience)

    u = dsub.add_parser("utkface", help="UTKFace images (labels from file names) → manifest")
    u.add_argument("root", help="folder of UTKFace images (searched recursively)")
    add_manifest_output(u)
    u.set_defaults(func=cmd_data_utkface)

    g = dsub.add_parser("gender-folders", help="<root>/male, <root>/female images (gender only) → manifest")
    g.add_argument("root", help="folder holding male/ and female/")
    g.add_argument("--source", help="source name stored in the manifest (default: the folder name)")
    add_manifest_output(g)
    g.set_defaults(func=cmd_data_gender_folders)

    au = dsub.add_parser("augment", help="phone-like copies of a manifest's images (training, robustness tests)",
                         description="Write COPIES degraded copies of every image (flip, tilt, crop, few pixels, blur, "
                         "noise, low light, colour cast, JPEG) into DIR/images and a manifest of them — or, with --shrink, "
                         "one low-resolution copy of every larger image; with --tight, one copy with the face cut close; with --gray, one in "
                         "grayscale; with --occlude, one with the face behind sunglasses or a face mask; with --turn, one turned sideways or "
                         "upside down; with --close-up, one with the face filling the frame at 1024 px; with --look, one through a beauty filter, "
                         "overexposed or shaken; with --portrait, one as a loosely framed portrait. Each copy keeps its original's labels and "
                         "names it as its subject: splits keep copies with their originals.")
    au.add_argument("manifest", help="the originals' manifest")
    au.add_argument("dir", help="folder for the copies (resumable: existing copies are kept)")
    au.add_argument("--copies", type=bounded(1, 50), default=2, help="copies per image (default: %(default)s)")
    au.add_argument("--seed", type=int, default=0)
    kind = au.add_mutually_exclusive_group()  # one kind of copy per run
    kind.add_argument("--shrink", type=bounded(8, 4096), default=0, metavar="SIDE",
                    help="instead: one copy of every image larger than SIDE px, shrunk to SIDE px on its longer side "
                    "(JPEG quality 75): to test, or train, whether sharpness tells age (UTKFace: 64)")
    kind.add_argument("--tight", action="store_true",
                    help="instead: one copy of every image with a face, the face cut tight (brows to chin, cheek to "
                    "cheek; JPEG quality 90), as face-crop data sets and other tools hand faces over")
    kind.add_argument("--gray", action="store_true",
                    help="instead: one grayscale copy of every image (JPEG quality 90), as old or black-and-white photos")
    kind.add_argument("--occlude", choices=(*OCCLUSIONS, ANY_OCCLUSION),
                    help="instead: one copy of every image with a face, the face behind sunglasses (glasses) or a face "
                    "mask (mask, nose to chin), drawn from RetinaFace's landmarks (JPEG quality 90); any: one of the "
                    "two per image, drawn from the seed")
    kind.add_argument("--turn", choices=(*TURNS, ANY_TURN), type=lambda t: int(t) if t.isdigit() else t, metavar="{90,180,270,any}",
                    help="instead: one copy of every image turned counterclockwise by 90, 180 or 270 degrees (JPEG "
                    "quality 95), as a photo whose EXIF orientation was lost or a person lying down; any: one of the "
                    "three per image, drawn from the seed")
    kind.add_argument("--close-up", action="store_true",
                    help="instead: one copy of every image with a face, the face as a close-up (a square 1.5 to 3 eye "
                    "distances wide around it, scaled to 1024 px; JPEG quality 90): filling the frame or overflowing it")
    kind.add_argument("--look", choices=(*LOOKS, ANY_LOOK),
                    help="instead: one copy of every image as phones and their users also make photos look (JPEG quality "
                    "90): beauty (a beauty filter: skin smoothed, edges kept, a little brighter), overexposed (brightness "
                    "x1.5-2, highlights burnt out) or shake (motion blur in any direction); any: one of the three per "
                    "image, drawn from the seed")
    kind.add_argument("--portrait", action="store_true",
                    help="instead: one copy of every image (a face crop) as a loosely framed portrait: 30 %% as wide as "
                    "a 448 px square photo, on a plain background (JPEG quality 90) — how FairFace's 448 px images frame "
                    "faces; to check that a set of such photos is read as photos (`features --detector auto`)")
    au.add_argument("--root", help="resolve the manifest's image paths against this folder")
    au.add_argument("--workers", type=bounded(1, 256), default=1, help="processes (default: %(default)s)")
    au.add_argument("--quiet", action="store_true")
    add_manifest_output(au, check=False)
    au.set_defaults(func=cmd_data_augment)

    sa = dsub.add_parser("adience-sample", help="build an Adience-format tree from UTKFace-named face crops",
                         description="Write aligned/, faces/ (coarsely aligned copies) and Folds/ fold files in the "
                         "Adience download's layout, from labelled face crops: proves the Adience path without the download.")
    sa.add_argument("faces", help="folder of UTKFace-named crops (e.g. ../shared/data/utkface/crop_part1)")
    sa.add_argument("--out", required=True, help="folder to create")
    sa.add_argument("--n", type=bounded(1), default=500, help="number of faces (default: %(default)s)")
    sa.add_argument("--per-user", type=bounded(1), default=4, help="photos per synthetic user (default: %(default)s)")
    sa.add_argument("--seed", type=int, default=0)
    sa.set_defaults(func=cmd_data_adience_sample)

    c = dsub.add_parser("cfd", help="Chicago Face Database (norming-data workbook) → manifest")
    c.add_argument("root", help="the CFD folder (images + the '* Norming Data and Codebook.xlsx')")
    c.add_argument("--workbook", help="the norming-data workbook, if not found under root")
    c.add_argument("--age", choices=("auto", "self", "rated"), default="auto",
                   help="self-reported or raters' mean age (auto: self-reported where the sheet has it)")
    add_manifest_output(c)
    c.set_defaults(func=cmd_data_extra)
    fr = dsub.add_parser("feret", help="Color FERET (ground_truths + image names) → manifest")
    fr.add_argument("root", help="the colorferet folder (dvd1/, dvd2/ with data/ground_truths and data/images)")
    fr.add_argument("--resolution", choices=("images", "smaller", "thumbnails"), default="images")
    add_manifest_output(fr)
    fr.set_defaults(func=cmd_data_extra)
    kd = dsub.add_parser("kdef", help="KDEF (file-name codes; gender only) → manifest")
    kd.add_argument("root", help="the KDEF folder")
    kd.add_argument("--frontal-only", action="store_true", help="only the straight (S) angle")
    add_manifest_output(kd)
    kd.set_defaults(func=cmd_data_extra)
    ft = dsub.add_parser("facetracer", help="FaceTracer (facelabels.txt + downloaded images) → manifest")
    ft.add_argument("root", help="facelabels.txt or the folder holding it")
    ft.add_argument("--images", required=True, help="folder of downloaded images named <face_id>.<ext>")
    ft.add_argument("--coarse-age", action="store_true", help="map baby → 0-2 and senior → 60+ (others: no age)")
    add_manifest_output(ft)
    ft.set_defaults(func=cmd_data_extra)
    pa = dsub.add_parser("pal", help="PAL / Aging Mind faces (labels from a CSV or a file-name pattern) → manifest")
    pa.add_argument("root", help="the image folder")
    grp = pa.add_mutually_exclusive_group(required=True)
    grp.add_argument("--labels", help="CSV with columns file, age, gender")
    grp.add_argument("--pattern", help="regex with named groups age and gender, searched in each relative path")
    add_manifest_output(pa)
    pa.set_defaults(func=cmd_data_extra)
    ff = dsub.add_parser("fairface", help="FairFace (label CSVs + train/, val/ images; seven race groups) → manifest")
    ff.add_argument("root", help="the FairFace folder: fairface_label_train.csv, fairface_label_val.csv, train/, val/")
    ff.add_argument("--split", choices=("val", "train", "both"), default="val",
                    help="which labels to read (default: %(default)s, the set FairFace results are reported on)")
    ff.add_argument("--mode", choices=("strict", "lenient"), default="strict",
                    help="strict: an age group only where one group holds the whole age bin (0-2, 60-69, 70+), "
                         "the other bins gender only; lenient (training only): the group holding most of the bin")
    ff.add_argument("--labels", help="read this label CSV instead (same columns; file paths relative to root)")
    add_manifest_output(ff)
    ff.set_defaults(func=cmd_data_extra)
    lc = dsub.add_parser("csv", help="any face set labelled in one CSV (a row per image: file, age, gender[, race, subject]) → manifest")
    lc.add_argument("labels", help="the label file")
    lc.add_argument("root", help="the folder its file paths start from")
    lc.add_argument("--source", required=True, help="the set's name in the manifest (e.g. appa-real, morph)")
    lc.add_argument("--file-column", default="file", help="column of image paths (default: %(default)s)")
    lc.add_argument("--age-column", default="age", help="column of ages: years (35) or ranges (20-29, 70+) (default: %(default)s)")
    lc.add_argument("--gender-column", default="gender", help="(default: %(default)s)")
    lc.add_argument("--race-column", help="column of race labels, for the per-group reports")
    lc.add_argument("--subject-column", help="column of person ids, for subject-exclusive splits")
    lc.add_argument("--male", help="comma-separated cell values meaning male (default: m, male, man); give both "
                    "--male and --female when a set writes 0/1")
    lc.add_argument("--female", help="comma-separated cell values meaning female (default: f, female, woman)")
    lc.add_argument("--delimiter", default=",", help="',' (default), ';' or 'tab'")
    add_manifest_output(lc)
    lc.set_defaults(func=cmd_data_extra)
    mg = dsub.add_parser("merge", help="merge manifests (de-duplicated) → one manifest")
    mg.add_argument("manifests", nargs="+", help="manifest files")
    add_manifest_output(mg)
    mg.set_defaults(func=cmd_data_merge)

    sm = dsub.add_parser("sample", help="N rows of a manifest drawn at random → manifest (quick checks)")
    sm.add_argument("manifest", help="a manifest file (.csv or .parquet)")
    sm.add_argument("n", type=bounded(1), help="rows to draw (all when the manifest has no more)")
    sm.add_argument("--seed", type=int, default=0)
    add_manifest_output(sm, check=False)
    sm.set_defaults(func=cmd_data_sample)

    sp = dsub.add_parser("split", help="one part of a manifest split by subject → manifest (e.g. half of an "
                         "extra set to train on, the other half only ever tested on)")
    sp.add_argument("manifest", help="a manifest file (.csv or .parquet)")
    sp.add_argument("part", type=bounded(0), help="which part, from 0")
    sp.add_argument("--parts", type=bounded(2), default=2, help="into how many parts (default: %(default)s); a "
                    "hash of each subject (the key when there is none) picks its part: the same on every machine")
    add_manifest_output(sp, check=False)
    sp.set_defaults(func=cmd_data_split)

    rl = dsub.add_parser("relabel", help="a person's review of labels (e.g. after `evaluate --audit`) applied to a "
                         "manifest → manifest, to score models against what the faces show")
    rl.add_argument("manifest", help="a manifest file (.csv or .parquet)")
    rl.add_argument("review", help="a CSV with a 'key' column (as in the manifest and audit.csv) and a 'gender' and/or "
                    "'age_group' column: the label seen (m/f; an Adience group); empty or ? keeps the data set's label, "
                    "drop leaves the face out; other columns are ignored (docs/DATASETS.md)")
    add_manifest_output(rl, check=False)
    rl.set_defaults(func=cmd_data_relabel)

    s = dsub.add_parser("stats", help="breakdown table of a manifest")
    s.add_argument("manifest", help="a manifest file (.csv or .parquet)")
    s.add_argument("--root", help="resolve image paths against this folder (with --check-images)")
    add_manifest_output(s)
    s.set_defaults(func=cmd_data_stats)
