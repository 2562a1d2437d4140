// Symphony dashboard: renders /api/v1/state, follows /api/v1/events (server-sent events) and
// drills down into /api/v1/<identifier>. Plain DOM, no dependencies; every value from the server
// is inserted as text, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TPS_WINDOW_MS = 5000;
  const TIMELINE_LIMIT = 200;

  const app = {
    snapshot: null,
    skewMs: 0, // browser clock minus server clock, from generated_at
    samples: [], // [ms, total_tokens] for throughput
    detailId: null,
    detail: null,
    detailEvents: [],
    said: new Map(), // issue identifier -> last informative {summary, event, at}
    showChatter: false,
    detailFetchAt: 0,
    lastFocus: null,
    liveSummary: "",
  };

  // --- formatting -------------------------------------------------------------------------

  const nf = new Intl.NumberFormat("en-US");
  const fmtInt = (n) => (Number.isFinite(Number(n)) ? nf.format(Math.round(Number(n))) : "0");

  function fmtDuration(seconds) {
    if (seconds == null || !Number.isFinite(seconds)) return "–";
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  }

  const parseTime = (value) => {
    if (typeof value !== "string") return null;
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : null;
  };
  const serverNow = () => Date.now() - app.skewMs;
  const secondsSince = (value) => {
    const ms = parseTime(value);
    return ms == null ? null : (serverNow() - ms) / 1000;
  };
  const clockTime = (value) => {
    const ms = parseTime(value);
    if (ms == null) return "";
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  };
  const tokens = (t) => (t && typeof t === "object" ? t : {});
  const isHttpUrl = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

  // --- tiny DOM helpers --------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function setText(id, text) {
    const node = $(id);
    if (node && node.textContent !== text) node.textContent = text;
  }

  // Keyed row reconciliation: rows keep their identity (and keyboard focus) across updates;
  // a cell is rebuilt only when its signature changes.
  function syncRows(table, rows, keyOf, cellsOf) {
    const tbody = table.tBodies[0];
    const existing = new Map([...tbody.rows].map((tr) => [tr.dataset.key, tr]));
    let previous = null;
    for (const row of rows) {
      const key = keyOf(row);
      let tr = existing.get(key);
      if (tr) existing.delete(key);
      else {
        tr = el("tr");
        tr.dataset.key = key;
      }
      const cells = cellsOf(row);
      cells.forEach((cell, index) => {
        let td = tr.cells[index];
        if (!td) td = tr.appendChild(el(index === 0 ? "th" : "td"));
        if (index === 0) td.setAttribute("scope", "row");
        const sig = cell.sig;
        if (td.dataset.sig !== sig) {
          const changed = td.dataset.sig !== undefined && cell.flash;
          td.dataset.sig = sig;
          td.className = cell.class || "";
          td.replaceChildren(...cell.content);
          if (changed) flash(td);
        }
      });
      const anchor = previous ? previous.nextSibling : tbody.firstChild;
      if (tr !== anchor) tbody.insertBefore(tr, anchor);
      previous = tr;
    }
    for (const tr of existing.values()) tr.remove();
  }

  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  function flash(node) {
    if (reducedMotion.matches || typeof node.animate !== "function") return;
    node.animate([{ backgroundColor: "var(--accent-soft)" }, { backgroundColor: "transparent" }], { duration: 1200, easing: "ease-out" });
  }

  const cell = (content, opts = {}) => {
    const list = Array.isArray(content) ? content : [content];
    const nodes = list.filter((c) => c != null).map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
    const sig = opts.sig != null ? opts.sig : JSON.stringify(list.map((c) => (c instanceof Node ? c.outerHTML : String(c))));
    return { content: nodes, sig, class: opts.class, flash: opts.flash };
  };

  function issueCell(row) {
    const id = row.issue_identifier || row.issue_id || "?";
    const link = el("a", { class: "issue-link", href: `#/issues/${encodeURIComponent(id)}`, "aria-label": `Show details for ${id}` }, id);
    const parts = [link];
    if (isHttpUrl(row.issue_url)) {
      parts.push(el("a", { class: "external", href: row.issue_url, target: "_blank", rel: "noopener noreferrer", title: "Open in tracker", "aria-label": `Open ${id} in the tracker` }, "↗"));
    }
    if (row.title) parts.push(el("span", { class: "issue-title", title: row.title }, row.title));
    return cell(parts, { class: "issue-cell", sig: JSON.stringify([id, row.issue_url, row.title]) });
  }

  // --- snapshot rendering -------------------------------------------------------------------

  // Agents can emit dozens of events a second; the model updates at once, the DOM at most
  // every RENDER_INTERVAL_MS.
  const RENDER_INTERVAL_MS = 250;
  const pending = { all: false, timeline: false, timer: null, last: 0 };

  function scheduleRender(what) {
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
      renderAll();
    }
    if (pending.timeline) {
      pending.timeline = false;
      renderTimeline(true);
    }
  }

  function applySnapshot(snapshot) {
    app.snapshot = snapshot;
    const generated = parseTime(snapshot.generated_at);
    if (generated != null) app.skewMs = Date.now() - generated;
    sampleThroughput();
    scheduleRender("all");
    if (app.detailId) scheduleDetailFetch();
  }

  function renderAll() {
    const s = app.snapshot;
    if (!s) return;
    renderHeader(s);
    renderAlerts(s);
    renderRunning(s);
    renderRetrying(s);
    renderBlocked(s);
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
      (Array.isArray(s.blocked) && s.blocked.length ? `, ${s.blocked.length} blocked` : "");
    if (summary !== app.liveSummary) {
      app.liveSummary = summary;
      setText("live-summary", summary);
    }
  }

  function renderAlerts(s) {
    const alerts = [];
    const wf = s.workflow || {};
    const tracker = s.tracker || {};
    if (!app.connected) alerts.push(["warn", "Live updates paused", "Reconnecting to the service…"]);
    if (app.unavailable) alerts.push(["bad", "Snapshot unavailable", "The orchestrator did not answer; retrying."]);
    if (wf.error) alerts.push(["bad", "Workflow reload failed", `Running with the last good configuration. [${wf.error.code}] ${wf.error.message}`]);
    for (const w of wf.warnings || []) alerts.push(["warn", "Workflow warning", String(w)]);
    if (tracker.error) alerts.push(["bad", "Tracker error", `[${tracker.error.code}] ${tracker.error.message}`]);
    const sig = JSON.stringify(alerts);
    const box = $("alerts");
    if (box.dataset.sig === sig) return;
    box.dataset.sig = sig;
    box.replaceChildren(...alerts.map(([level, title, text]) =>
      el("div", { class: `alert alert-${level}` }, el("strong", {}, title), el("span", { class: "alert-text" }, text))));
  }

  function renderRunning(s) {
    const rows = Array.isArray(s.running) ? s.running : [];
    setText("running-count", rows.length ? `(${rows.length})` : "");
    $("running-empty").hidden = rows.length > 0;
    $("running-table").hidden = rows.length === 0;
    const live = new Set(rows.map((r) => r.issue_identifier));
    for (const id of [...app.said.keys()]) if (!live.has(id)) app.said.delete(id);
    syncRows($("running-table"), rows, (r) => r.issue_identifier || r.issue_id, (r) => {
      const t = tokens(r.tokens);
      // Streaming chatter carries no message; keep showing the last thing worth reading.
      let shown = { summary: r.summary, event: r.last_event, at: r.last_event_at };
      if (r.last_message != null && r.last_message !== "") app.said.set(r.issue_identifier, shown);
      else if (app.said.has(r.issue_identifier)) shown = app.said.get(r.issue_identifier);
      const summary = shown.summary || (shown.event ? shown.event : "no agent event yet");
      return [
        issueCell(r),
        cell(el("span", { class: "badge state-badge" }, r.state || "?"), { class: "nowrap" }),
        cell(fmtInt(r.turn_count || 0), { class: "num", flash: true }),
        cell(el("span", { "data-since": r.started_at || "" }, fmtDuration(secondsSince(r.started_at))), { class: "nowrap", sig: `age:${r.started_at}` }),
        cell(fmtInt(t.total_tokens || 0), { class: "num", flash: true }),
        cell([
          el("span", { class: "event-summary" }, String(summary)),
          el("span", { class: "event-meta" }, [shown.event, clockTime(shown.at)].filter(Boolean).join(" · ")),
        ], { class: "event-cell", flash: true }),
      ];
    });
    for (const tr of $("running-table").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.key === app.detailId);
  }

  function dueSeconds(r) {
    const due = parseTime(r.due_at);
    if (due != null) return (due - serverNow()) / 1000;
    if (Number.isFinite(r.due_in_ms)) return r.due_in_ms / 1000 - (secondsSince(app.snapshot.generated_at) || 0);
    return null;
  }

  function fmtDue(seconds) {
    if (seconds == null) return "–";
    if (seconds <= 0) return "due now";
    return seconds < 60 ? `${seconds.toFixed(1)}s` : fmtDuration(seconds);
  }

  function renderRetrying(s) {
    const rows = (Array.isArray(s.retrying) ? s.retrying : []).slice().sort((a, b) => (dueSeconds(a) ?? 0) - (dueSeconds(b) ?? 0));
    setText("retry-count", rows.length ? `(${rows.length})` : "");
    $("retry-empty").hidden = rows.length > 0;
    $("retry-table").hidden = rows.length === 0;
    syncRows($("retry-table"), rows, (r) => r.issue_identifier || r.issue_id, (r) => [
      issueCell(r),
      cell(fmtInt(r.attempt || 0), { class: "num" }),
      cell(r.kind || "retry", { class: `kind-${r.kind || "failure"}` }),
      cell(el("span", { "data-due": r.due_at || "", "data-due-ms": r.due_in_ms ?? "" }, fmtDue(dueSeconds(r))), { class: "nowrap", sig: `due:${r.due_at}` }),
      cell(r.error ? el("span", { class: r.kind === "continuation" ? "" : "error-text" }, r.error) : "–"),
    ]);
  }

  function renderBlocked(s) {
    const rows = Array.isArray(s.blocked) ? s.blocked : [];
    $("blocked-section").hidden = rows.length === 0;
    setText("blocked-count", rows.length ? `(${rows.length})` : "");
    syncRows($("blocked-table"), rows, (r) => r.issue_identifier || r.issue_id, (r) => [
      issueCell(r),
      cell(r.state || "?"),
      cell(clockTime(r.blocked_at) || "–", { class: "nowrap" }),
      cell(r.error ? el("span", { class: "error-text" }, r.error) : "–"),
    ]);
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
    const blocked = Array.isArray(s.blocked) ? s.blocked.length : 0;
    setText("m-blocked", blocked ? `${blocked} blocked` : "none blocked");
    setText("m-tokens", fmtInt(totals.total_tokens || 0));
    setText("m-tokens-sub", `in ${fmtInt(totals.input_tokens || 0)} · out ${fmtInt(totals.output_tokens || 0)}`);
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

  // --- drill-down ------------------------------------------------------------------------

  function eventClass(name, summary) {
    const n = String(name || "");
    const text = String(summary || "");
    if (/fail|error|malformed|stalled|declined|input_required/.test(n) || /^error/.test(text)) return "ev-error";
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

  function renderDetail() {
    const d = app.detail;
    const id = app.detailId;
    setText("detail-heading", id || "Issue");
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
    const url = tracked.issue_url || (app.snapshot && [...(app.snapshot.running || []), ...(app.snapshot.retrying || [])].find((r) => r.issue_identifier === id) || {}).issue_url;
    const statusParts = [el("span", { class: `badge ${d.status === "running" ? "badge-live" : d.status === "retrying" ? "badge-warn" : d.status === "blocked" ? "badge-bad" : "badge-muted"}` }, d.status || "unknown")];
    if (run.state) statusParts.push(el("span", { class: "badge state-badge" }, run.state));
    if (isHttpUrl(url)) statusParts.push(el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "Open in tracker ↗"));
    statusParts.push(el("a", { href: `/api/v1/${encodeURIComponent(id)}` }, "JSON"));
    status.replaceChildren(...statusParts);

    const rows = [];
    const add = (label, value, mono) => { if (value != null && value !== "") rows.push(el("dt", {}, label), el("dd", { class: mono ? "mono" : "" }, String(value))); };
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

  function renderTimeline(newest) {
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

  function mergeEvents(fromServer) {
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
  function scheduleDetailFetch() {
    if (detailTimer) return;
    const wait = Math.max(0, 1000 - (Date.now() - app.detailFetchAt));
    detailTimer = setTimeout(() => { detailTimer = null; fetchDetail(); }, wait);
  }

  function openDetail(id, focus) {
    if (app.detailId !== id) {
      app.detailId = id;
      app.detail = null;
      app.detailMissing = false;
      app.detailEvents = [];
    }
    $("detail").hidden = false;
    document.querySelector(".columns").classList.add("has-detail");
    renderDetail();
    if (app.snapshot) renderAll();
    fetchDetail();
    if (focus) $("detail-heading").focus();
  }

  function closeDetail() {
    const id = app.detailId;
    app.detailId = null;
    app.detail = null;
    $("detail").hidden = true;
    document.querySelector(".columns").classList.remove("has-detail");
    if (app.snapshot) renderAll();
    if (id) {
      const link = [...document.querySelectorAll(".issue-link")].find((a) => a.textContent === id);
      if (link) link.focus();
    }
  }

  function route(focus) {
    const match = /^#\/issues\/(.+)$/.exec(location.hash);
    if (match) openDetail(decodeURIComponent(match[1]), focus);
    else if (app.detailId) closeDetail();
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

  function start() {
    // A ?token= in the address bar has done its job (the server set a session cookie).
    const url = new URL(location.href);
    if (url.searchParams.has("token")) {
      url.searchParams.delete("token");
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    app.connected = false;
    $("refresh-button").addEventListener("click", requestRefresh);
    $("timeline-chatter-input").addEventListener("change", (e) => {
      app.showChatter = e.target.checked;
      renderTimeline(false);
    });
    $("detail-close").addEventListener("click", () => { history.pushState(null, "", location.pathname + location.search); closeDetail(); });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && app.detailId) { history.pushState(null, "", location.pathname + location.search); closeDetail(); }
    });
    window.addEventListener("hashchange", () => route(true));
    loadInitial().then(() => route(true));
    connect();
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
