// Live mode: the camera, the model on this device frame after frame, faces followed from frame to frame
// with their answers steadied (agegender/tracking.py does the same in Python, with the same constants
// from /models/device.json), and the optional age check (agegender/agecheck.py). No frame and no answer
// leaves the phone: everything below runs here.
"use strict";

const AgeGenderLive = (() => {
  const $ = (id) => document.getElementById(id);
  let stream = null, running = false, facing = "user", wantRunning = false;
  let tracker = null, frames = 0, fpsWindow = [], cfg = null;
  const state = window.agegenderLive = { frames: 0, fps: 0, tracks: [], history: [], error: null, running: false };

  // ---- tracking.py: IoU matching, a window of recent distributions, the Undefined rule on their mean
  function iou(a, b) {
    const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const inter = ix * iy, union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return union > 0 ? inter / union : 0;
  }

  function makeTracker(t) {
    let tracks = [], next = 1;
    const mean = (rows) => rows[0].map((_, i) => rows.reduce((s, r) => s + r[i], 0) / rows.length);
    return function update(faces) {
      const pairs = [];
      tracks.forEach((tr, ti) => faces.forEach((f, fi) => pairs.push([iou(tr.box, f.box), ti, fi])));
      pairs.sort((a, b) => b[0] - a[0]);
      const trackOf = new Map(), used = new Set();
      for (const [overlap, ti, fi] of pairs) {
        if (overlap < t.min_iou) break;
        if (used.has(ti) || trackOf.has(fi)) continue;
        used.add(ti); trackOf.set(fi, tracks[ti]);
      }
      faces.forEach((f, fi) => {
        if (!trackOf.has(fi)) { const tr = { id: next++, box: f.box, age: [], gender: [], years: [], frames: 0, missing: 0 }; tracks.push(tr); trackOf.set(fi, tr); }
      });
      const seen = new Set(trackOf.values());
      tracks.forEach((tr) => { tr.missing = seen.has(tr) ? 0 : tr.missing + 1; });
      tracks = tracks.filter((tr) => tr.missing <= t.max_missing);
      return faces.map((f, fi) => {
        const tr = trackOf.get(fi);
        tr.box = f.box; tr.frames += 1;
        tr.age.push(cfg.labels.age_groups.map((g) => f.age_probs[g])); tr.gender.push(cfg.labels.genders.map((g) => f.gender_probs[g]));
        if (f.age_years != null) tr.years.push(f.age_years);
        for (const k of ["age", "gender", "years"]) if (tr[k].length > t.window) tr[k].shift();
        const doubt = f.second_look != null && f.second_look < cfg.detector.doubt_look;  // this frame's face may be none
        return { track: tr.id, frames: tr.frames, box: f.box, age: mean(tr.age), gender: mean(tr.gender), doubt,
                 years: tr.years.length ? tr.years.reduce((a, b) => a + b, 0) / tr.years.length : null };
      });
    };
  }

  // labels.decode on the steadied distributions; Undefined while the track is still steadying, or when the
  // face seen now may be none (tracking.Track.steady)
  function decide(t) {
    const thr = cfg.thresholds, names = cfg.labels;
    if (t.doubt) return { undefined: true, text: "Undefined (not a face?)" };
    const pick = (probs, th) => { const hits = probs.map((p, i) => (p >= th ? i : -1)).filter((i) => i >= 0); return hits.length === 1 ? hits[0] : null; };
    const a = pick(t.age, thr.age), g = pick(t.gender, thr.gender);
    if (a === null || g === null) return { undefined: true, text: "Undefined (not sure)" };
    if (t.frames < cfg.tracking.min_frames) return { undefined: true, text: "Undefined (steadying…)" };
    return { undefined: false, age_group: names.age_groups[a], gender: names.genders[g],
             text: `${names.age_groups[a]}, ${names.genders[g] === "f" ? "female" : "male"}` };
  }

  // agecheck.AgeCheck.decide: "over" only when the probability of the minimum group and older passes a strict threshold
  function ageCheck(t, minimum) {
    if (!minimum) return null;
    const m = cfg.labels.age_groups.indexOf(minimum);
    const th = (cfg.age_check || {})[minimum] || { over: 0.99, under: 0.99 };
    const over = t.age.slice(m).reduce((s, p) => s + p, 0);
    if (t.frames < cfg.tracking.min_frames || t.doubt) return "not sure — check ID";
    if (over >= th.over) return "over";
    if (1 - over >= th.under) return "under";
    return "not sure — check ID";
  }

  function draw(video, results) {
    const canvas = $("live-canvas");
    if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {  // rotation, camera switch
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    }
    const ctx = canvas.getContext("2d");
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const line = Math.max(2, Math.round(canvas.width / 250));
    ctx.font = `${Math.max(14, Math.round(canvas.width / 32))}px system-ui, sans-serif`;
    for (const r of results) {
      const [x0, y0, x1, y1] = r.box;
      const colour = r.check === "over" ? "#28c85a" : r.check === "under" ? "#e5484d" : r.answer.undefined ? "#f0aa14" : "#28c85a";
      ctx.lineWidth = line; ctx.strokeStyle = colour; ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      const years = r.years == null || r.answer.undefined ? "" : ` ≈${Math.round(r.years)}`;
      const text = `#${r.track} ${r.answer.text}${years}${r.check ? ` · ${r.check}` : ""}`;
      const h = parseInt(ctx.font, 10) + 6, w = ctx.measureText(text).width + 8, ty = y0 > h ? y0 - h : y1;
      const tx = Math.max(0, Math.min(x0, canvas.width - w));  // keep the label on screen
      ctx.fillStyle = colour; ctx.fillRect(tx, ty, w, h);
      ctx.fillStyle = "#000"; ctx.fillText(text, tx + 4, ty + h - 6);
    }
  }

  async function loop(video) {
    while (running) {
      if (video.readyState < 2 || !video.videoWidth) { await new Promise((r) => setTimeout(r, 50)); continue; }
      const t0 = performance.now();
      const img = AgeGenderDevice.frameImage(video, video.videoWidth, video.videoHeight);
      const answer = await AgeGenderDevice.predictImage(img);
      if (!running) break;
      const minimum = $("age-check").value;
      const results = tracker(answer.faces).map((t) => ({ ...t, answer: decide(t), check: ageCheck(t, minimum) }));
      draw(video, results);
      frames += 1;
      const now = performance.now();
      fpsWindow.push(now); while (fpsWindow.length > 20) fpsWindow.shift();
      const fps = fpsWindow.length > 1 ? (fpsWindow.length - 1) * 1000 / (now - fpsWindow[0]) : 0;
      $("live-fps").textContent = `${fps.toFixed(1)} frames/s · ${(now - t0).toFixed(0)} ms per frame`;
      Object.assign(state, { frames, fps, latency_ms: now - t0, tracks: results.map((r) => ({ track: r.track, box: r.box, text: r.answer.text,
        undefined: r.answer.undefined, age_group: r.answer.age_group, gender: r.answer.gender, check: r.check, years: r.years })) });
      state.history.push(state.tracks); if (state.history.length > 200) state.history.shift();
      await new Promise((r) => setTimeout(r, 0));  // let the page breathe
    }
  }

  async function start() {
    $("live-status").textContent = "Starting the camera…";
    $("live-status").className = "";
    state.error = null;
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw Object.assign(new Error(), { name: "NoCamera" });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: facing, width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (err) {
      const msg = err.name === "NotAllowedError" || err.name === "SecurityError"
        ? "The camera permission was refused. Allow the camera for this site in your browser's settings, then start again."
        : err.name === "NotFoundError" || err.name === "NoCamera" ? "No camera was found on this device."
          : `The camera could not be started (${err.name || err.message}).`;
      $("live-status").textContent = msg;
      $("live-status").className = "error";
      state.error = msg;
      wantRunning = false;
      return;
    }
    cfg = (await AgeGenderDevice.load()).cfg;
    tracker = makeTracker(cfg.tracking);
    const video = $("live-video");
    video.srcObject = stream;
    await video.play().catch(() => {});
    running = true; wantRunning = true; state.running = true;
    $("live-start").textContent = "Pause";
    $("live-status").textContent = "Live: everything runs on this device; no frame leaves it.";
    loop(video);
  }

  function stop(userAsked = true) {
    running = false; state.running = false;
    if (userAsked) wantRunning = false;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("live-start").textContent = "Start live camera";
    if (userAsked) $("live-status").textContent = "Paused.";
  }

  function init() {
    $("live-start").addEventListener("click", () => (running ? stop() : start()));
    $("live-switch").addEventListener("click", async () => {
      facing = facing === "user" ? "environment" : "user";
      if (running) { stop(false); await start(); }
    });
    // leaving the page (or the app) stops the camera; coming back resumes it
    document.addEventListener("visibilitychange", () => {
      if (document.hidden && running) stop(false);
      else if (!document.hidden && wantRunning && !running) start();
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  if (document.readyState !== "loading") init();
  return { start, stop };
})();
