// Shared state of the dashboard page, clock and number formatting, and the render scheduler.
"use strict";

export const $ = (id) => document.getElementById(id);

export const TPS_WINDOW_MS = 5000;
export const TIMELINE_LIMIT = 200;

export const app = {
  snapshot: null,
  skewMs: 0, // browser clock minus server clock, from generated_at
  samples: [], // [ms, total_tokens] for throughput
  detailId: null,
  detail: null,
  detailEvents: [],
  said: new Map(), // issue identifier -> last informative {summary, event, at}
  showChatter: false,
  detailFetchAt: 0,
  liveSummary: "",
  requests: [], // pending human requests (docs/human-requests.md)
};

// --- clock and number formatting -------------------------------------------------------------------------

const nf = new Intl.NumberFormat("en-US");
export const fmtInt = (n) => (Number.isFinite(Number(n)) ? nf.format(Math.round(Number(n))) : "0");

export function fmtDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export const parseTime = (value) => {
  if (typeof value !== "string") return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
};
export const serverNow = () => Date.now() - app.skewMs;
export const secondsSince = (value) => {
  const ms = parseTime(value);
  return ms == null ? null : (serverNow() - ms) / 1000;
};
export const clockTime = (value) => {
  const ms = parseTime(value);
  if (ms == null) return "";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
};
export const tokens = (t) => (t && typeof t === "object" ? t : {});
export const isHttpUrl = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

// --- render scheduling ----------------------------------------------------------------------

// Agents can emit dozens of events a second; the model updates at once, the DOM at most
// every RENDER_INTERVAL_MS.
const RENDER_INTERVAL_MS = 250;
const pending = { all: false, timeline: false, timer: null, last: 0 };

// Each view registers how it draws itself (``renderers.all``, ``renderers.timeline``).
export const renderers = { all: () => {}, timeline: () => {} };

export function scheduleRender(what) {
  pending[what] = true;
  if (pending.timer) return;
  const wait = Math.max(0, RENDER_INTERVAL_MS - (Date.now() - pending.last));
  pending.timer = setTimeout(flushRender, wait);
}

function flushRender() {
  pending.timer = null;
  pending.last = Date.now();
  if (pending.all) {
    pending.all = false;
    renderers.all();
  }
  if (pending.timeline) {
    pending.timeline = false;
    renderers.timeline();
  }
}

export function dueSeconds(r) {
  const due = parseTime(r.due_at);
  if (due != null) return (due - serverNow()) / 1000;
  if (Number.isFinite(r.due_in_ms)) return r.due_in_ms / 1000 - (secondsSince(app.snapshot.generated_at) || 0);
  return null;
}

export function fmtDue(seconds) {
  if (seconds == null) return "–";
  if (seconds <= 0) return "due now";
  return seconds < 60 ? `${seconds.toFixed(1)}s` : fmtDuration(seconds);
}
