// The drill-down panel: one issue's facts, agent logs and event timeline.
"use strict";

import {
  $, app, clockTime, dueSeconds, fmtDue, fmtDuration, fmtInt, isHttpUrl, parseTime, renderers,
  secondsSince, TIMELINE_LIMIT, tokens,
} from "./model.js";
import { el, setText } from "./dom.js";
import { renderSteer } from "./requests.js";

function eventClass(name, summary) {
  const n = String(name || "");
  const text = String(summary || "");
  if (/fail|error|malformed|stalled|declined|input_required/.test(n) || /^error/.test(text)) return "ev-error";
  if (/human_request|steered/.test(n)) return "ev-human";
  if (/^\$ |^ran: |^running: |^command /.test(text)) return "ev-command";
  if (/tool/.test(n) || /^tool |^MCP /.test(text)) return "ev-tool";
  if (/token/.test(n)) return "ev-tokens";
  if (/turn_completed|session_started/.test(n)) return "ev-ok";
  if (/^agent/.test(text)) return "ev-message";
  return "";
}

const summaryOf = (ev) => String(ev.summary || ev.message || ev.event || "event");

function timelineItem(group, isNew) {
  const ev = group.first;
  const summary = summaryOf(ev);
  const name = group.count > 1 ? `${ev.event || ""} ×${group.count}` : ev.event || "";
  const li = el("li", { class: [eventClass(ev.event, summary), isNew ? "is-new" : ""].filter(Boolean).join(" ") },
    el("time", { datetime: ev.at || "" }, clockTime(ev.at)),
    el("span", { class: "ev-summary" }, summary),
    el("span", { class: "ev-name" }, name));
  return li;
}

// Runs of the same event (streaming deltas, repeated notifications) read as one line with a count.
function groupEvents(events) {
  const groups = [];
  for (const ev of events) {
    const last = groups[groups.length - 1];
    if (last && last.first.event === ev.event && summaryOf(last.first) === summaryOf(ev)) last.count += 1;
    else groups.push({ first: ev, count: 1 });
  }
  return groups;
}

export function renderDetail() {
  const d = app.detail;
  const id = app.detailId;
  setText("detail-heading", id || "Issue");
  renderSteer(d);
  const status = $("detail-status");
  const facts = $("detail-facts");
  const logs = $("detail-logs");
  const errorBox = $("detail-error");
  if (!d) {
    status.replaceChildren(app.detailMissing ? el("span", { class: "error-text" }, "This issue is not known to the running service.") : "Loading…");
    facts.replaceChildren();
    logs.replaceChildren();
    errorBox.replaceChildren();
    errorBox.className = "";
    $("detail-timeline").replaceChildren();
    return;
  }
  const run = d.running || {};
  const retry = d.retry || {};
  const tracked = d.tracked || {};
  const url = tracked.issue_url || (app.snapshot && [...(app.snapshot.running || []), ...(app.snapshot.retrying || []), ...(app.snapshot.blocked || [])].find((r) => r.issue_identifier === id) || {}).issue_url;
  const statusParts = [el("span", { class: `badge ${d.status === "running" ? "badge-live" : d.status === "retrying" ? "badge-warn" : d.status === "blocked" ? "badge-bad" : "badge-muted"}` }, d.status || "unknown")];
  const held = d.blocked || null;
  const trackerState = run.state || (held && held.state);
  if (trackerState) statusParts.push(el("span", { class: "badge state-badge" }, trackerState));
  if (isHttpUrl(url)) statusParts.push(el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "Open in tracker ↗"));
  statusParts.push(el("a", { href: `/api/v1/${encodeURIComponent(id)}` }, "JSON"));
  status.replaceChildren(...statusParts);

  const rows = [];
  const add = (label, value, mono) => { if (value != null && value !== "") rows.push(el("dt", {}, label), el("dd", { class: mono ? "mono" : "" }, String(value))); };
  if (held) {
    add("Blocked", held.reason || "not eligible for dispatch");
    const open = (held.blocked_by || []).map((b) => `${b.identifier || "?"} (${b.state || "state unknown"})`);
    if (open.length) add("Open blockers", open.join(", "));
    if (held.blocked_at) add("Blocked since", clockTime(held.blocked_at));
  }
  add("Workspace", (d.workspace || {}).path, true);
  const attempts = d.attempts || {};
  add("Attempt", attempts.current_retry_attempt != null ? attempts.current_retry_attempt : "–");
  add("Earlier runs", attempts.restart_count);
  if (d.running) {
    add("Session", run.session_id, true);
    add("Turn", run.turn_count);
    add("Running for", fmtDuration(secondsSince(run.started_at)));
    add("Tokens", `${fmtInt(tokens(run.tokens).total_tokens)} (in ${fmtInt(tokens(run.tokens).input_tokens)}, out ${fmtInt(tokens(run.tokens).output_tokens)})`);
    add("Agent pid", run.pid);
  }
  if (d.retry) add("Retry", `attempt ${retry.attempt}, ${retry.kind || "retry"}, ${fmtDue(dueSeconds(retry))}`);
  facts.replaceChildren(...rows);

  if (d.last_error) {
    errorBox.className = "detail-error";
    errorBox.replaceChildren(el("strong", {}, "Last error: "), String(d.last_error));
  } else {
    errorBox.className = "";
    errorBox.replaceChildren();
  }

  const entries = ((d.logs || {}).codex_session_logs || []);
  logs.replaceChildren(...(entries.length ? entries.map((entry) => el("li", {},
    entry.url ? el("a", { href: entry.url, target: "_blank", rel: "noopener" }, entry.label || "log") : el("span", {}, entry.label || "log"),
    " ", el("span", { class: "mono" }, entry.path || ""))) : [el("li", { class: "empty" }, "No agent logs yet.")]));

  renderTimeline(false);
}

const isChatter = (ev) => ev.message == null || ev.message === "";

export function renderTimeline(newest) {
  const list = $("detail-timeline");
  const hidden = app.detailEvents.filter(isChatter).length;
  const toggle = $("timeline-chatter");
  toggle.hidden = hidden === 0;
  setText("timeline-chatter-label", `Show ${hidden} low-level event${hidden === 1 ? "" : "s"} (streaming, no message)`);
  const events = app.showChatter ? app.detailEvents : app.detailEvents.filter((ev) => !isChatter(ev));
  if (!events.length) {
    list.replaceChildren(el("li", { class: "empty" }, el("span", {}), el("span", { class: "ev-summary" }, "No agent events yet.")));
    return;
  }
  const top = eventKey(events[0]);
  const isNew = newest && top !== app.timelineTop;
  app.timelineTop = top;
  list.replaceChildren(...groupEvents(events).map((group, i) => timelineItem(group, isNew && i === 0)));
}

function eventKey(ev) { return `${ev.at}|${ev.event}|${ev.summary || ev.message}`; }

export function mergeEvents(fromServer) {
  const seen = new Set();
  const merged = [];
  const all = [...app.detailEvents, ...fromServer.map((e) => e)];
  all.sort((a, b) => (parseTime(b.at) || 0) - (parseTime(a.at) || 0));
  for (const ev of all) {
    const key = eventKey(ev);
    if (seen.has(key)) continue;
    seen.add(key);
    merged.push(ev);
    if (merged.length >= TIMELINE_LIMIT) break;
  }
  app.detailEvents = merged;
}

async function fetchDetail() {
  const id = app.detailId;
  if (!id) return;
  app.detailFetchAt = Date.now();
  try {
    const response = await fetch(`/api/v1/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (id !== app.detailId) return;
    if (response.status === 404) {
      app.detail = null;
      app.detailMissing = true;
      renderDetail();
      return;
    }
    if (!response.ok) return;
    const detail = await response.json();
    if (id !== app.detailId) return;
    app.detail = detail;
    app.detailMissing = false;
    mergeEvents(Array.isArray(detail.recent_events) ? detail.recent_events : []);
    renderDetail();
  } catch (_) {
    /* the next snapshot schedules another attempt */
  }
}

let detailTimer = null;
export function scheduleDetailFetch() {
  if (detailTimer) return;
  const wait = Math.max(0, 1000 - (Date.now() - app.detailFetchAt));
  detailTimer = setTimeout(() => { detailTimer = null; fetchDetail(); }, wait);
}

export function openDetail(id, focus) {
  if (app.detailId !== id) {
    app.detailId = id;
    app.detail = null;
    app.detailMissing = false;
    app.detailEvents = [];
  }
  $("detail").hidden = false;
  document.querySelector(".columns").classList.add("has-detail");
  renderDetail();
  if (app.snapshot) renderers.all();
  fetchDetail();
  if (focus) $("detail-heading").focus();
}

export function closeDetail() {
  const id = app.detailId;
  app.detailId = null;
  app.detail = null;
  $("detail").hidden = true;
  document.querySelector(".columns").classList.remove("has-detail");
  if (app.snapshot) renderers.all();
  if (id) {
    const link = [...document.querySelectorAll(".issue-link")].find((a) => a.textContent === id);
    if (link) link.focus();
  }
}

export function route(focus) {
  const match = /^#\/issues\/(.+)$/.exec(location.hash);
  if (match) openDetail(decodeURIComponent(match[1]), focus);
  else if (app.detailId) closeDetail();
}

renderers.timeline = () => renderTimeline(true);
