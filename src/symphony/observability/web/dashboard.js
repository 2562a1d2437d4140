// Symphony dashboard: renders /api/v1/state, follows /api/v1/events (server-sent events) and
// drills down into /api/v1/<identifier>. Plain DOM and ES modules, no dependencies.
"use strict";

import {
  $, app, clockTime, dueSeconds, fmtDue, fmtDuration, fmtInt, parseTime, renderers, scheduleRender,
  secondsSince, serverNow, tokens, TPS_WINDOW_MS,
} from "./model.js";
import { cell, el, issueCell, runKey, setText, syncRows } from "./dom.js";
import { closeDetail, mergeEvents, renderTimeline, route, scheduleDetailFetch } from "./detail.js";
import { followSnapshot, startHuman } from "./requests.js";
import { reviewOnSnapshot, showReview, startReview } from "./review.js";
import { boardOnSnapshot, showBoard, startBoard } from "./board.js";

function applySnapshot(snapshot) {
  app.snapshot = snapshot;
  const generated = parseTime(snapshot.generated_at);
  if (generated != null) app.skewMs = Date.now() - generated;
  sampleThroughput();
  followSnapshot(snapshot);
  reviewOnSnapshot(snapshot);
  boardOnSnapshot(snapshot);
  scheduleRender("all");
  if (app.detailId) scheduleDetailFetch();
}

function renderAll() {
  const s = app.snapshot;
  if (!s) return;
  renderHeader(s);
  renderAlerts(s);
  renderWorkers(s);
  renderRunning(s);
  renderRetrying(s);
  renderBlocked(s);
  renderHeld(s);
  renderRateLimits(s);
  tick();
}

function renderHeader(s) {
  const wf = s.workflow || {};
  const tracker = s.tracker || {};
  const parts = [];
  if (wf.path) parts.push(wf.path + (wf.version != null ? ` (v${wf.version})` : ""));
  if (tracker.kind) parts.push(`tracker: ${tracker.kind}`);
  setText("topbar-meta", parts.join(" · ") || "Symphony");
  const counts = s.counts || {};
  const summary = `${counts.running || 0} running, ${counts.retrying || 0} retrying` +
    (blockedTotal(s) ? `, ${blockedTotal(s)} blocked` : "");
  if (summary !== app.liveSummary) {
    app.liveSummary = summary;
    setText("live-summary", summary);
  }
}

function fmtUsd(value) {
  const n = Number(value);
  return value != null && Number.isFinite(n) ? `$${n.toFixed(2)}` : "–";
}

function renderAlerts(s) {
  const alerts = [];
  const wf = s.workflow || {};
  const tracker = s.tracker || {};
  if (!app.connected) alerts.push(["warn", "Live updates paused", "Reconnecting to the service…"]);
  if (app.unavailable) alerts.push(["bad", "Snapshot unavailable", "The orchestrator did not answer; retrying."]);
  if (wf.error) alerts.push(["bad", "Workflow reload failed", `New dispatches are paused until the file is fixed; running agents continue with the last good configuration. [${wf.error.code}] ${wf.error.message}`]);
  for (const w of wf.warnings || []) alerts.push(["warn", "Workflow warning", String(w)]);
  if (tracker.error) alerts.push(["bad", "Tracker error", `[${tracker.error.code}] ${tracker.error.message}`]);
  const problem = s.agent_problem;
  if (problem) {
    const next = problem.next_attempt_at ? `one agent tries again at ${clockTime(problem.next_attempt_at)}` : "one agent is trying again now";
    alerts.push(["bad", "Agents cannot start", `[${problem.code}] ${problem.message} No new agent starts until this is fixed (${next}); the issues wait in the retry queue.`]);
  }
  const budget = s.budget || {};
  if (budget.dispatch_paused) alerts.push(["warn", "Daily cost limit reached", `Spent ${fmtUsd(budget.cost_usd)} of ${fmtUsd(budget.max_cost_usd_per_day)} on ${budget.day || "today"} (UTC): no new dispatch until the next UTC day or a higher agent.max_cost_usd_per_day; running agents continue.`]);
  const sig = JSON.stringify(alerts);
  const box = $("alerts");
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.replaceChildren(...alerts.map(([level, title, text]) =>
    el("div", { class: `alert alert-${level}` }, el("strong", {}, title), el("span", { class: "alert-text" }, text))));
}

// SSH worker hosts (docs/workers.md): one row per host with its load, health and agents.
function renderWorkers(s) {
  const hosts = Array.isArray(s.workers) ? s.workers : [];
  $("workers-panel").hidden = hosts.length === 0;
  if (!hosts.length) return;
  const down = hosts.filter((h) => h.status === "down").length;
  setText("workers-count", down ? `(${hosts.length}, ${down} down)` : `(${hosts.length})`);
  const running = Array.isArray(s.running) ? s.running : [];
  syncRows($("workers-table"), hosts, (h) => h.host, (h) => {
    const agents = running.filter((r) => r.worker_host === h.host).map(runKey);
    const status = h.status === "down"
      ? [el("span", { class: "badge badge-bad" }, "down"),
         el("span", { class: "event-meta" }, [h.error, h.down_until ? `until ${clockTime(h.down_until)}` : null].filter(Boolean).join(" · "))]
      : [el("span", { class: "badge badge-live" }, "up")];
    return [
      cell(h.host, { class: "nowrap" }),
      cell(status, { class: "event-cell" }),
      cell(h.capacity != null ? `${h.running} / ${h.capacity}` : String(h.running), { class: "num", flash: true }),
      cell(agents.length ? agents.join(", ") : "–"),
    ];
  });
}

// Running rows grouped by host, in the order of worker.ssh_hosts (local runs first).
function byHost(s, rows) {
  const order = new Map((Array.isArray(s.workers) ? s.workers : []).map((h, i) => [h.host, i]));
  if (!order.size) return rows;
  const rank = (r) => (r.worker_host == null ? -1 : order.get(r.worker_host) ?? order.size);
  return rows.map((r, i) => [r, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([r]) => r);
}

function renderRunning(s) {
  const rows = byHost(s, Array.isArray(s.running) ? s.running : []);
  setText("running-count", rows.length ? `(${rows.length})` : "");
  $("running-empty").hidden = rows.length > 0;
  $("running-table").hidden = rows.length === 0;
  const live = new Set(rows.map(runKey));
  for (const id of [...app.said.keys()]) if (!live.has(id)) app.said.delete(id);
  syncRows($("running-table"), rows, runKey, (r) => {
    const t = tokens(r.tokens);
    // Streaming chatter carries no message; keep showing the last thing worth reading.
    let shown = { summary: r.summary, event: r.last_event, at: r.last_event_at };
    if (r.last_message != null && r.last_message !== "") app.said.set(runKey(r), shown);
    else if (app.said.has(runKey(r))) shown = app.said.get(runKey(r));
    const summary = shown.summary || (shown.event ? shown.event : "no agent event yet");
    return [
      issueCell(r),
      cell([
        el("span", { class: "badge state-badge" }, r.state || "?"),
        r.worker_host ? el("span", { class: "event-meta worker-host" }, `on ${r.worker_host}`) : null,
      ], { class: "nowrap" }),
      cell(fmtInt(r.turn_count || 0), { class: "num", flash: true }),
      cell(el("span", { "data-since": r.started_at || "" }, fmtDuration(secondsSince(r.started_at))), { class: "nowrap", sig: `age:${r.started_at}` }),
      cell(fmtInt(t.total_tokens || 0), { class: "num", flash: true }),
      cell([
        r.pending_request_count ? el("span", { class: "badge badge-warn" }, `waiting for you (${r.pending_request_count})`) : null,
        el("span", { class: "event-summary" }, String(summary)),
        el("span", { class: "event-meta" }, [shown.event, clockTime(shown.at)].filter(Boolean).join(" · ")),
      ], { class: "event-cell", flash: true }),
    ];
  });
  for (const tr of $("running-table").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.key === app.detailId || tr.dataset.key.startsWith(`${app.detailId}.`));
}


function renderRetrying(s) {
  const rows = (Array.isArray(s.retrying) ? s.retrying : []).slice().sort((a, b) => (dueSeconds(a) ?? 0) - (dueSeconds(b) ?? 0));
  setText("retry-count", rows.length ? `(${rows.length})` : "");
  $("retry-empty").hidden = rows.length > 0;
  $("retry-table").hidden = rows.length === 0;
  syncRows($("retry-table"), rows, runKey, (r) => [
    issueCell(r),
    cell(fmtInt(r.attempt || 0), { class: "num" }),
    cell(r.kind || "retry", { class: `kind-${r.kind || "failure"}` }),
    cell(el("span", { "data-due": r.due_at || "", "data-due-ms": r.due_in_ms ?? "" }, fmtDue(dueSeconds(r))), { class: "nowrap", sig: `due:${r.due_at}` }),
    cell(r.error ? el("span", { class: r.kind === "continuation" ? "" : "error-text" }, r.error) : "–"),
  ]);
}

// The runtime lists at most a bounded number of blocked rows; counts.blocked has them all.
function blockedTotal(s) {
  const rows = Array.isArray(s.blocked) ? s.blocked.length : 0;
  return Math.max(rows, Number((s.counts || {}).blocked) || 0);
}

function renderBlocked(s) {
  const rows = Array.isArray(s.blocked) ? s.blocked : [];
  const total = blockedTotal(s);
  $("blocked-section").hidden = total === 0;
  setText("blocked-count", total ? `(${total})` : "");
  $("blocked-more").hidden = total <= rows.length;
  setText("blocked-more", total > rows.length ? `Showing ${rows.length} of ${total} blocked issues.` : "");
  syncRows($("blocked-table"), rows, (r) => r.issue_identifier || r.issue_id, (r) => [
    issueCell(r),
    cell(el("span", { class: "badge state-badge" }, r.state || "?"), { class: "nowrap" }),
    cell(r.reason || r.error || "–", { class: "reason" }),
    cell(clockTime(r.blocked_at) || "–", { class: "nowrap" }),
  ]);
}

// Issues Symphony stopped (docs/holds.md); Release lets the next poll run them again.
function renderHeld(s) {
  const rows = Array.isArray(s.held) ? s.held : [];
  $("held-section").hidden = rows.length === 0;
  setText("held-count", rows.length ? `(${rows.length})` : "");
  syncRows($("held-table"), rows, (r) => r.issue_identifier || r.issue_id, (r) => [
    issueCell(r),
    cell(el("span", { class: "badge" }, (r.reason || "held").replace(/_/g, " ")), { class: "nowrap" }),
    cell(r.message || "–", { class: "reason" }),
    cell(clockTime(r.since) || "–", { class: "nowrap" }),
    cell(el("button", { type: "button", class: "release-button", "data-issue": r.issue_identifier }, "Release"), { sig: `release:${r.issue_identifier}` }),
  ]);
}

async function releaseHold(event) {
  const button = event.target.closest(".release-button");
  if (!button) return;
  const id = button.dataset.issue;
  button.disabled = true;
  try {
    const response = await fetch(`/api/v1/${encodeURIComponent(id)}/release`, { method: "POST", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) toast(`Released ${id}: the next poll may run it`);
    else toast((body.error && body.error.message) || `Release failed (${response.status})`);
  } catch (_) {
    toast("Release failed: the service is unreachable");
  } finally {
    button.disabled = false;
  }
}

function bucketView(name, bucket) {
  const used = Number(bucket.usedPercent ?? bucket.used_percent);
  const parts = [];
  let pct = null;
  if (Number.isFinite(used)) {
    pct = Math.max(0, Math.min(100, used));
    parts.push(`${used}% used`);
  } else if (Number.isFinite(Number(bucket.remaining)) && Number.isFinite(Number(bucket.limit)) && Number(bucket.limit) > 0) {
    pct = 100 - (100 * Number(bucket.remaining)) / Number(bucket.limit);
    parts.push(`${fmtInt(bucket.remaining)}/${fmtInt(bucket.limit)} left`);
  }
  const windowMins = Number(bucket.windowDurationMins ?? bucket.window_minutes);
  if (Number.isFinite(windowMins) && windowMins > 0) parts.push(windowMins % 1440 === 0 ? `${windowMins / 1440}d window` : windowMins % 60 === 0 ? `${windowMins / 60}h window` : `${windowMins}m window`);
  let resetIn = Number(bucket.reset_in_seconds ?? bucket.resetInSeconds);
  const resetsAt = bucket.resetsAt ?? bucket.resets_at;
  if (!Number.isFinite(resetIn) && Number.isFinite(Number(resetsAt))) resetIn = Number(resetsAt) - serverNow() / 1000;
  if (Number.isFinite(resetIn)) parts.push(`resets in ${fmtDuration(resetIn)}`);
  const bar = el("div", { class: `bar${pct >= 90 ? " bad" : pct >= 70 ? " warn" : ""}`, role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct == null ? 0 : Math.round(pct), "aria-label": `${name} rate limit used` });
  const fill = el("span");
  fill.style.width = `${pct == null ? 0 : pct}%`;
  bar.append(fill);
  return el("div", { class: "rate-limit" }, el("div", { class: "rate-limit-head" }, el("strong", {}, name), el("span", {}, parts.join(" · "))), bar);
}

function renderRateLimits(s) {
  const rl = s.rate_limits;
  const box = $("rate-limits");
  const sig = JSON.stringify(rl) + Math.floor(serverNow() / 10000);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  if (!rl || typeof rl !== "object" || !Object.keys(rl).length) {
    box.replaceChildren(el("p", { class: "empty" }, "No rate-limit data yet."));
    return;
  }
  const items = [];
  const ident = rl.limitId || rl.limit_id || rl.limitName || rl.name;
  const meta = [ident, rl.planType && `plan ${rl.planType}`].filter(Boolean).join(" · ");
  for (const name of ["primary", "secondary"]) if (rl[name] && typeof rl[name] === "object") items.push(bucketView(name, rl[name]));
  const credits = rl.credits;
  let creditText = null;
  if (credits && typeof credits === "object") {
    creditText = credits.unlimited ? "credits: unlimited" : credits.hasCredits ? (credits.balance != null ? `credits: ${Number(credits.balance).toFixed(2)}` : "credits: available") : "credits: none";
  }
  box.replaceChildren(...items, el("span", { class: "rate-meta" }, [meta, creditText].filter(Boolean).join(" · ")));
}

// --- once a second: clocks, countdowns, throughput --------------------------------------------

function sampleThroughput() {
  const total = Number(tokens(app.snapshot && app.snapshot.codex_totals).total_tokens) || 0;
  const now = Date.now();
  const last = app.samples[app.samples.length - 1];
  if (last && total < last[1]) app.samples = [];
  app.samples.push([now, total]);
  while (app.samples.length > 1 && app.samples[1][0] <= now - TPS_WINDOW_MS) app.samples.shift();
}

function throughput() {
  if (app.samples.length < 2) return 0;
  const [t0, v0] = app.samples[0];
  const [t1, v1] = app.samples[app.samples.length - 1];
  return t1 > t0 ? Math.max(0, ((v1 - v0) * 1000) / (t1 - t0)) : 0;
}

function tick() {
  const s = app.snapshot;
  if (!s) return;
  sampleThroughput();
  const counts = s.counts || {};
  const limits = s.limits || {};
  const totals = tokens(s.codex_totals);
  const running = Array.isArray(s.running) ? s.running.length : counts.running || 0;
  setText("m-agents", `${running} / ${limits.max_concurrent_agents ?? "?"}`);
  const byState = limits.by_state && Object.keys(limits.by_state).length
    ? Object.entries(limits.by_state).map(([k, v]) => `${k}: ${v}`).join(", ") : "running / max concurrent";
  setText("m-agents-sub", byState);
  setText("m-retrying", fmtInt(counts.retrying || 0));
  const blocked = blockedTotal(s);
  setText("m-blocked", blocked ? `${fmtInt(blocked)} blocked` : "none blocked");
  setText("m-tokens", fmtInt(totals.total_tokens || 0));
  const cost = (s.codex_totals || {}).cost_usd;
  const today = (s.budget || {}).cost_usd;
  setText("m-tokens-sub", `in ${fmtInt(totals.input_tokens || 0)} · out ${fmtInt(totals.output_tokens || 0)} · ${fmtUsd(cost)} (today ${fmtUsd(today)})`);
  setText("m-tps", fmtInt(throughput()));
  const elapsed = Math.max(0, secondsSince(s.generated_at) || 0);
  setText("m-runtime", fmtDuration((Number(totals.seconds_running) || 0) + elapsed * running));
  const polling = s.polling || {};
  if (polling.checking) setText("m-poll", "checking…");
  else {
    const next = parseTime(polling.next_poll_at);
    setText("m-poll", next == null ? "–" : fmtDuration(Math.max(0, Math.ceil((next - serverNow()) / 1000))));
  }
  const tracker = s.tracker || {};
  const lastPoll = secondsSince(tracker.last_poll_at);
  setText("m-poll-sub", lastPoll == null ? "not polled yet" : `last poll ${fmtDuration(lastPoll)} ago`);
  for (const span of document.querySelectorAll("[data-since]")) {
    const text = fmtDuration(secondsSince(span.dataset.since));
    if (span.textContent !== text) span.textContent = text;
  }
  const retrying = Array.isArray(s.retrying) ? s.retrying : [];
  for (const span of document.querySelectorAll("[data-due]")) {
    const row = retrying.find((r) => (r.due_at || "") === span.dataset.due);
    const text = fmtDue(row ? dueSeconds(row) : null);
    if (span.textContent !== text) span.textContent = text;
  }
  renderRateLimits(s);
  setText("footer-generated", `Snapshot ${clockTime(s.generated_at)} · updates ${app.connected ? "live" : "paused"}`);
}


function onAgentEvent(ev) {
  // Keep the running row current between snapshots.
  if (app.snapshot && Array.isArray(app.snapshot.running)) {
    const row = app.snapshot.running.find((r) => r.issue_identifier === ev.issue_identifier);
    if (row) {
      row.last_event = ev.event;
      row.last_event_at = ev.at;
      row.last_message = ev.message;
      row.summary = ev.summary;
      scheduleRender("all");
    }
  }
  if (app.detailId && ev.issue_identifier === app.detailId) {
    mergeEvents([ev]);
    scheduleRender("timeline");
  }
}


// --- live connection ----------------------------------------------------------------------

function setConnection(state) {
  const badge = $("connection");
  const labels = { live: ["Live", "badge-live"], reconnecting: ["Reconnecting…", "badge-warn"], offline: ["Offline", "badge-bad"] };
  const [text, cls] = labels[state] || labels.offline;
  app.connected = state === "live";
  if (badge.textContent !== text) badge.textContent = text;
  badge.className = `badge ${cls}`;
  if (app.snapshot) renderAlerts(app.snapshot);
}

function connect() {
  const source = new EventSource("/api/v1/events");
  source.addEventListener("open", () => setConnection("live"));
  source.addEventListener("snapshot", (e) => {
    app.unavailable = false;
    setConnection("live");
    applySnapshot(JSON.parse(e.data));
  });
  source.addEventListener("agent_event", (e) => onAgentEvent(JSON.parse(e.data)));
  source.addEventListener("unavailable", () => {
    app.unavailable = true;
    if (app.snapshot) renderAlerts(app.snapshot);
  });
  source.addEventListener("error", () => {
    setConnection(source.readyState === EventSource.CLOSED ? "offline" : "reconnecting");
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  });
}

async function loadInitial() {
  try {
    const response = await fetch("/api/v1/state", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.ok) applySnapshot(await response.json());
    else if (response.status === 503) app.unavailable = true;
  } catch (_) {
    setConnection("offline");
  }
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
}

async function requestRefresh() {
  const button = $("refresh-button");
  button.disabled = true;
  try {
    const response = await fetch("/api/v1/refresh", { method: "POST", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) toast(body.coalesced ? "A poll is already queued" : "Poll queued");
    else toast((body.error && body.error.message) || `Refresh failed (${response.status})`);
  } catch (_) {
    toast("Refresh failed: the service is unreachable");
  } finally {
    button.disabled = false;
  }
}

renderers.all = renderAll;

// Views by address: #/review, #/board, else the overview (#/issues/<id> opens the detail there).
function currentView() {
  if (/^#\/review\/?$/.test(location.hash)) return "review";
  if (/^#\/board\/?$/.test(location.hash)) return "board";
  return "overview";
}

function showView(focus) {
  const view = currentView();
  for (const name of ["overview", "review", "board"]) {
    $(`view-${name}`).hidden = name !== view;
    const tab = $(`tab-${name}`);
    if (name === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  showReview(view === "review");
  showBoard(view === "board");
  if (focus && view !== "overview") $(`${view}-heading`).focus();
  route(focus);
}

function start() {
  // A ?token= in the address bar has done its job (the server set a session cookie).
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  app.connected = false;
  $("refresh-button").addEventListener("click", requestRefresh);
  $("held-table").addEventListener("click", releaseHold);
  startHuman(toast);
  startReview();
  startBoard();
  $("timeline-chatter-input").addEventListener("change", (e) => {
    app.showChatter = e.target.checked;
    renderTimeline(false);
  });
  $("detail-close").addEventListener("click", () => { history.pushState(null, "", location.pathname + location.search); closeDetail(); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && app.detailId) { history.pushState(null, "", location.pathname + location.search); closeDetail(); }
  });
  window.addEventListener("hashchange", () => showView(true));
  loadInitial().then(() => showView(true));
  connect();
  setInterval(tick, 1000);
}


// Module scripts run after the document is parsed.
start();
