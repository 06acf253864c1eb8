// The page: send the chosen photo to /api/predict, draw the boxes and answers, explain Undefined.
"use strict";
const statusEl = document.getElementById("status");
const canvas = document.getElementById("canvas");
const list = document.getElementById("faces");

function setStatus(text, kind) {
  statusEl.textContent = text;
  statusEl.className = kind || "";
}

// a face the detector was unsure of that a second, closer look did not find again (faces.Face.doubt)
const notAFace = (face) => face.undefined && (face.reason || "").startsWith("not sure it is a face");

function label(face) {
  if (notAFace(face)) return "Undefined: a face?";
  if (face.undefined) return "Undefined";
  return `${face.age_group}, ${face.gender === "f" ? "female" : "male"}`;
}

function draw(img, result) {
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const sx = img.naturalWidth / result.width, sy = img.naturalHeight / result.height;
  const line = Math.max(2, Math.round(canvas.width / 250));
  ctx.font = `${Math.max(14, Math.round(canvas.width / 35))}px system-ui, sans-serif`;
  result.faces.forEach((face, i) => {
    const [x0, y0, x1, y1] = face.box;
    const colour = face.undefined ? "#f0aa14" : "#28c85a";
    ctx.lineWidth = line;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
    const text = `${i + 1}: ${label(face)}`;
    const h = parseInt(ctx.font, 10) + 6;
    const w = ctx.measureText(text).width + 8;
    const ty = y0 * sy > h ? y0 * sy - h : y1 * sy;
    ctx.fillStyle = colour;
    ctx.fillRect(x0 * sx, ty, w, h);
    ctx.fillStyle = "#000";
    ctx.fillText(text, x0 * sx + 4, ty + h - 6);
  });
}

// The answers as a numbered list (the numbers are the boxes' on the photo).
function listFaces(result) {
  list.innerHTML = "";
  result.faces.forEach((face) => {
    const li = document.createElement("li");
    li.className = face.undefined ? "undefined" : "";
    const years = face.age_years == null || notAFace(face) ? "" : ` About ${Math.round(face.age_years)} years old (± ${Math.round(face.age_years_spread)}).`;
    let text;
    if (notAFace(face)) text = "Undefined — this may not be a face: the detector was unsure of it, and a closer look did not find it again.";
    else if (face.undefined) text = `Undefined — ${face.reason}. Best guess: ${face.best_age_group}, ${face.best_gender === "f" ? "female" : "male"}. Try another photo: face the camera, good light.`;
    else text = `${label(face)} (age ${(100 * face.age_probs[face.age_group]).toFixed(0)} %, gender ${(100 * face.gender_probs[face.gender]).toFixed(0)} %).`;
    li.textContent = text + years;
    list.appendChild(li);
  });
}

// Where the model runs: "server" (POST /api/predict) or "device" (device.js: the server's model in
// onnxruntime-web on this phone — the fast one if the server's cannot run there; works offline).
function engine() {
  return document.querySelector('input[name="engine"]:checked').value;
}

// the chosen file as the multipart upload the server's routes take
function postFile(url, file) {
  const form = new FormData();
  form.append("file", file);
  return fetch(url, { method: "POST", body: form });
}

async function askServer(file) {
  const resp = await postFile("/api/predict", file);
  const body = await resp.json();
  if (!resp.ok) throw Object.assign(new Error(body.error), { fromServer: true });
  return { ...body, engine: "server" };
}

async function predict(file) {
  if (!file) return;
  setStatus(engine() === "device" ? "Loading the model on this device…" : "Looking for faces…");
  list.innerHTML = "";
  let body;
  try {
    body = engine() === "device" ? await AgeGenderDevice.predict(file) : await askServer(file);
  } catch (err) {
    if (engine() === "server" && !err.fromServer) {  // offline or server down: answer on the device
      try {
        setStatus("The server could not be reached — running the model on this device…");
        body = await AgeGenderDevice.predict(file);
      } catch (err2) {
        setStatus(`The server could not be reached and the on-device model failed (${err2.message}). Please try again.`, "error");
        return;
      }
    } else {
      setStatus(`Could not use this photo: ${err.message}. Please try another one.`, "error");
      return;
    }
  }
  window.agegenderLast = body;  // for the browser tests and the curious
  const where = body.engine === "device" ? " (on this device)" : "";
  const img = new Image();
  listFaces(body);
  img.onload = () => {
    draw(img, body);
    const n = body.faces.length;
    const undef = body.faces.filter((f) => f.undefined).length;
    if (n === 0) setStatus(`Undefined: no face found${where}. Please try another photo with a clearly visible face.`, "undefined");
    else if (undef) setStatus(`${n} face(s); ${undef} Undefined — the model is not sure${where}. See below.`, "undefined");
    else setStatus(`${n} face(s) found${where}.`);
  };
  let asked = false;
  img.onerror = async () => {  // a HEIC photo outside Safari: the server read it, this browser cannot show it
    if (!asked) {  // so the server sends it as a JPEG (upright, at most 1,280 px), and the boxes go on that
      asked = true;
      try {
        const resp = await postFile("/api/preview", file);
        if (resp.ok) {
          img.src = URL.createObjectURL(await resp.blob());
          return;
        }
      } catch (err) { /* offline: say so below */ }
    }
    canvas.width = canvas.height = 0;
    setStatus(`${body.faces.length} face(s) found${where}; this browser cannot show the photo (see the list below).`);
  };
  img.src = URL.createObjectURL(file);
}

for (const id of ["camera", "file"]) {
  document.getElementById(id).addEventListener("change", (e) => {
    predict(e.target.files[0]);
    e.target.value = "";  // the same photo chosen again (say, after switching where the model runs) is read again
  });
}

// Installable app: the service worker (served from the root so its scope is the whole site).
// If it cannot keep the app's files (say, the device is short of storage), the page says so: it still
// answers while online, but "on this device (works offline)" would not work offline. The worker's failed
// install shows it; the worker's message (sw.js tellPages) adds its reason.
if ("serviceWorker" in navigator) {
  const note = document.getElementById("offline");
  let reason = "";
  const notKept = () => {
    note.textContent = `This app could not be kept for offline use${reason ? ` (${reason})` : ""}. It still works ` +
      "while online; if this device is short of storage, free some and reload to try again.";
    note.hidden = false;
  };
  navigator.serviceWorker.addEventListener("message", (e) => {
    if (!e.data || e.data.type !== "offline-failed") return;
    reason = e.data.reason;
    notKept();
  });
  navigator.serviceWorker.register("/sw.js").then((reg) => {
    const w = reg.installing;
    if (w) w.addEventListener("statechange", () => { if (w.state === "redundant" && !reg.active) notKept(); });
  }).catch((err) => console.warn("service worker not registered", err));
}
