import { api, cookieMode, tokens, wire } from "/session.js";

const $ = (id) => document.getElementById(id);
const mode409 = $("mode409");
mode409.checked = new URLSearchParams(location.search).get("mode") === "409";

// ---- event log --------------------------------------------------------------------------------
const started = performance.now();
function note(text, kind = "") {
  const li = document.createElement("li");
  li.className = kind;
  const t = document.createElement("time");
  t.textContent = ((performance.now() - started) / 1000).toFixed(2) + "s";
  li.append(t, document.createTextNode(text));
  $("log").prepend(li);
  while ($("log").children.length > 80) $("log").lastChild.remove();
}

// ---- the timeline of one burst ------------------------------------------------------------------
let burst = null; // { t0, requests: Map(id -> {label, start, end, sends: [{at, end, status, expired}], ok}), refreshes: [] }
let nextId = 1;
let dirty = false;

wire.addEventListener("wire", ({ detail: e }) => {
  if (e.type === "refreshed") note(e.ok ? `refresh done in ${Math.round(e.durationMs)} ms; queue released` : `refresh failed: ${e.code}`, e.ok ? "good" : "bad");
  if (e.type === "logout") note(`session over (${e.reason}): going to /login`, "bad");
  if (!burst) return;
  if (e.refresh) {
    if (e.type === "send") { burst.refreshes.push({ start: e.at }); note("refresh call sent (one for the whole burst)", "refresh"); }
    else if (e.type === "answer") { const r = burst.refreshes[burst.refreshes.length - 1]; if (r) { r.end = e.at; r.status = e.status; } }
  } else if (e.id && burst.requests.has(e.id)) {
    const r = burst.requests.get(e.id);
    if (e.type === "send") r.sends.push({ at: e.at, withToken: e.withToken });
    else if (e.type === "answer") Object.assign(r.sends[r.sends.length - 1], { end: e.at, status: e.status, expired: e.expired });
  }
  dirty = true;
});

function segment(row, cls, from, to, scale) {
  const s = document.createElement("span");
  s.className = "seg " + cls;
  s.style.left = scale(from) + "%";
  s.style.width = Math.max(0.4, scale(to) - scale(from)) + "%";
  row.append(s);
}

function render() {
  dirty = false;
  const box = $("timeline");
  box.replaceChildren();
  if (!burst) return;
  const now = performance.now();
  const ends = [...burst.requests.values()].map((r) => r.end ?? now).concat(burst.refreshes.map((r) => r.end ?? now));
  const span = Math.max(50, Math.max(...ends) - burst.t0);
  const scale = (t) => ((t - burst.t0) / span) * 100;
  $("axis-end").textContent = Math.round(span) + " ms";

  const lane = (label, cls = "") => {
    const row = document.createElement("div");
    row.className = "lane " + cls;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = label;
    const track = document.createElement("span");
    track.className = "track";
    row.append(name, track);
    box.append(row);
    return track;
  };
  const refreshTrack = lane("refresh", "refresh-lane");
  for (const r of burst.refreshes) segment(refreshTrack, "refresh", r.start, r.end ?? now, scale);

  for (const r of burst.requests.values()) {
    const track = lane(r.label);
    let cursor = r.start;
    for (const s of r.sends) {
      if (s.at - cursor > 2) segment(track, "queued", cursor, s.at, scale);
      const end = s.end ?? now;
      segment(track, s.end === undefined ? "sent" : s.expired ? "expired" : r.sends.length > 1 || !s.withToken ? "ok" : "sent ok-first", s.at, end, scale);
      cursor = end;
    }
    if (r.end === undefined && (r.sends.length === 0 || r.sends[r.sends.length - 1].end !== undefined)) segment(track, "queued", cursor, now, scale);
  }
  const reqs = [...burst.requests.values()];
  const done = reqs.filter((r) => r.end !== undefined);
  if (done.length === reqs.length) {
    const ok = reqs.filter((r) => r.ok).length;
    const retried = reqs.filter((r) => r.sends.length > 1).length;
    $("summary").textContent = `${ok}/${reqs.length} succeeded · ${burst.refreshes.length} refresh call${burst.refreshes.length === 1 ? "" : "s"} · ${retried} retried · last answer after ${Math.round(Math.max(...reqs.map((r) => r.end)) - burst.t0)} ms`;
    $("summary").className = "summary " + (ok === reqs.length ? "good" : "bad");
  }
}

// Redrawn at most every 100 ms: drawing on every frame would slow down the very requests it shows.
let lastDraw = 0;
function frame(now) {
  if (now - lastDraw > 100) {
    lastDraw = now;
    if (dirty || (burst && [...burst.requests.values()].some((r) => r.end === undefined))) render();
    updateStats();
  }
  requestAnimationFrame(frame);
}

// ---- requests -----------------------------------------------------------------------------------
function headers(id) {
  const h = { "x-demo-req": id };
  if (mode409.checked) h["x-expired-style"] = "409";
  return h;
}

async function tracked(label, url, init = {}) {
  const id = String(nextId++);
  const r = { label, start: performance.now(), sends: [] };
  burst.requests.set(id, r);
  try {
    const res = await api.fetch(url, { ...init, headers: { ...headers(id), ...(init.headers || {}) } });
    r.ok = res.ok;
    return res;
  } catch (e) {
    r.ok = false;
    note(`${label}: ${e.name}${e.code ? " " + e.code : ""}`, "bad");
    throw e;
  } finally {
    r.end = performance.now();
    dirty = true;
  }
}

function newBurst() {
  burst = { t0: performance.now(), requests: new Map(), refreshes: [] };
  $("summary").textContent = "running…";
  $("summary").className = "summary muted";
}

$("burst").addEventListener("click", async () => {
  newBurst();
  note("firing 20 requests at once");
  const all = Array.from({ length: 20 }, (_, i) => tracked("GET #" + (i + 1), "/api/items?id=" + (i + 1)));
  const results = await Promise.allSettled(all);
  note(`${results.filter((r) => r.status === "fulfilled" && r.value.ok).length} of 20 succeeded`, "good");
});

$("post").addEventListener("click", async () => {
  newBurst();
  const payload = JSON.stringify({ message: "hello from the demo", sentAt: new Date().toISOString() });
  const res = await tracked("POST", "/api/echo", { method: "POST", headers: { "content-type": "application/json" }, body: payload });
  const data = await res.json();
  note(data.received === payload ? "POST body arrived intact: " + data.received : "POST body changed!", data.received === payload ? "good" : "bad");
});

$("tab").addEventListener("click", () => window.open(location.pathname + location.search, "_blank"));

$("revoke").addEventListener("click", async () => {
  await fetch("/auth/revoke", { method: "POST" });
  note("the server revoked every session: the next request ends at /login", "bad");
});

$("logout").addEventListener("click", async () => {
  // The server ends the session first: in cookie mode it names it by the access token (the page
  // has no refresh token) and removes the cookie.
  const refreshToken = cookieMode ? undefined : localStorage.getItem("refreshToken");
  await api.fetch("/auth/logout", { method: "POST", headers: { "content-type": "application/json", "x-seamless-fetch": "no-refresh" }, body: JSON.stringify({ refreshToken }) }).catch(() => {});
  api.logout();
});

// ---- live feed: getAccessToken + onTokens -------------------------------------------------------
const feed = { socket: null, ticks: 0, connections: 0 };
function showFeed(text) {
  $("feed").textContent = text;
  $("feed").dataset.ticks = feed.ticks;
  $("feed").dataset.connections = feed.connections;
}

async function connectFeed() {
  // A token good for at least another second: a socket opened with one about to expire would be
  // closed again at once.
  const token = await api.getAccessToken({ minValidityMs: 1000 }).catch((e) => { note("live feed: " + e.code, "bad"); return null; });
  if (!token) return showFeed("no session");
  const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/live");
  feed.socket = socket;
  socket.addEventListener("open", () => { socket.send(JSON.stringify({ token })); feed.connections++; showFeed(`connection ${feed.connections}: waiting for ticks`); });
  socket.addEventListener("message", (m) => { feed.ticks++; showFeed(`connection ${feed.connections} · tick ${JSON.parse(m.data).n} · ${feed.ticks} ticks in all`); });
  socket.addEventListener("close", (e) => {
    if (feed.socket !== socket) return;
    feed.socket = null;
    if (e.code !== 4001) return showFeed("closed (" + e.code + ")");
    note("live feed: the server closed it (token expired); reconnecting with a fresh token", "refresh");
    connectFeed();
  });
}

tokens.addEventListener("change", ({ detail: { reason, expiresAt } }) => {
  const left = expiresAt === null ? "" : `, valid ${Math.round((expiresAt - Date.now()) / 1000)} s`;
  note(`onTokens: ${reason}${left}`, reason === "clear" ? "bad" : "good");
  if (reason === "clear" && feed.socket) { const s = feed.socket; feed.socket = null; s.close(); showFeed("session over"); }
});

// ---- header: token life and counters ------------------------------------------------------------
function tokenExpiry() {
  try {
    const part = (localStorage.getItem("token") || "").split(".")[1];
    const claims = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
    return { exp: claims.exp * 1000, iat: claims.iat * 1000 };
  } catch {
    return null;
  }
}

function updateStats() {
  const s = api.stats();
  $("stat-refreshes").textContent = s.refreshes;
  $("stat-retried").textContent = s.retried;
  $("stat-queued").textContent = s.queued;
  const t = tokenExpiry();
  const left = t ? t.exp - Date.now() : 0;
  $("life-text").textContent = !t ? "none" : left > 0 ? (left / 1000).toFixed(1) + " s left" : "expired";
  $("life-fill").style.width = t ? Math.max(0, Math.min(100, (left / (t.exp - t.iat)) * 100)) + "%" : "0%";
  $("life-fill").className = left > 0 ? "" : "expired";
}

// ---- start --------------------------------------------------------------------------------------
const me = await api.fetch("/api/me", { headers: headers("me") }).catch(() => null);
if (!me || !me.ok) {
  location.replace("/login?next=" + encodeURIComponent(location.pathname + location.search));
} else {
  note("signed in as " + (await me.json()).user);
  $("session-mode").textContent = cookieMode
    ? "Cookie session: the refresh token is an HttpOnly cookie; Web Storage holds the access token only."
    : "Token session: both tokens in localStorage. Open /?mode=cookie for a cookie session.";
  connectFeed();
  window.addEventListener("storage", (e) => { if (e.key === "token" && e.newValue) note("another tab stored new tokens; this tab uses them"); });
  document.body.dataset.ready = "true";
  requestAnimationFrame(frame);
}
