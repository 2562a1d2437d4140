// The Review view: issues waiting in review.states with their proof of work and a highlighted
// diff, and the two decisions (docs/review.md). Everything from the server goes in as text.
"use strict";

import { $, fmtDuration, fmtInt, isHttpUrl, parseTime } from "./model.js";
import { el } from "./dom.js";

const review = { items: [], visible: false, loading: false, again: false, lastKey: null, diffs: new Map() };

// A JSON request to our own API: {ok, status, data}, never a throw.
export async function callApi(method, path, body) {
  try {
    const init = { method, headers: { Accept: "application/json" }, cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  } catch (_) {
    return { ok: false, status: 0, data: { error: { code: "unreachable", message: "the service is unreachable" } } };
  }
}

export function failure(result) {
  const error = result.data && result.data.error;
  if (!error) return `HTTP ${result.status}`;
  return result.status ? `${result.status} ${error.code}: ${error.message}` : error.message;
}

// What in a snapshot means the review queue may have changed: an issue left or joined the
// running, retrying or blocked lists, or changed state there.
export function queueKey(snapshot) {
  const rows = [...(snapshot.running || []), ...(snapshot.retrying || []), ...(snapshot.blocked || [])];
  return rows.map((r) => `${r.issue_identifier}:${r.state || ""}`).sort().join(",");
}

export function reviewOnSnapshot(snapshot) {
  const key = queueKey(snapshot);
  if (key === review.lastKey) return;
  review.lastKey = key;
  loadReview();
}

export function showReview(visible) {
  review.visible = visible;
  if (visible) loadReview();
}

export async function loadReview() {
  if (review.loading) { review.again = true; return; }
  review.loading = true;
  try {
    const result = await callApi("GET", "/api/v1/review");
    const box = $("review-error");
    if (result.ok) {
      box.hidden = true;
      review.items = Array.isArray(result.data.issues) ? result.data.issues : [];
      renderReview();
    } else {
      box.hidden = false;
      box.textContent = `Could not list the issues waiting for review: ${failure(result)}`;
    }
  } finally {
    review.loading = false;
    if (review.again) { review.again = false; loadReview(); }
  }
}

function cardKey(item) {
  const proof = item.proof || {};
  const candidates = (item.candidates || []).map((c) => `${c.name}:${c.status}`).join(",");
  return `${item.issue_identifier}|${item.state}|${proof.created_at || ""}|${proof.head || ""}|${candidates}`;
}

function renderReview() {
  const count = review.items.length;
  $("review-count").textContent = count ? `(${count})` : "";
  $("review-heading-count").textContent = count ? `(${count})` : "";
  $("review-empty").hidden = count > 0;
  const list = $("review-list");
  // A card stays as it is while its issue and proof do: a comment being typed survives updates.
  const existing = new Map([...list.children].map((node) => [node.dataset.key, node]));
  const cards = review.items.map((item) => existing.get(cardKey(item)) || reviewCard(item));
  list.replaceChildren(...cards);
}

function fact(label, value) {
  if (value == null || value === "") return [];
  return [el("dt", {}, label), el("dd", {}, String(value))];
}

function fmtMs(ms) {
  return Number.isFinite(Number(ms)) ? fmtDuration(Number(ms) / 1000) : null;
}

function verifyBadge(verify) {
  if (!verify) return el("span", { class: "badge badge-muted verify", "data-verify": "none" }, "verify: not configured");
  if (verify.passed) return el("span", { class: "badge badge-live verify", "data-verify": "passed" }, `verify passed (${fmtMs(verify.duration_ms) || "?"})`);
  return el("span", { class: "badge badge-bad verify", "data-verify": "failed" }, `verify failed: exit ${verify.exit_code ?? "?"}`);
}

function proofFacts(proof) {
  const t = proof.tokens || {};
  const cost = Number.isFinite(Number(proof.cost_usd)) && proof.cost_usd != null ? `$${Number(proof.cost_usd).toFixed(2)}` : null;
  const tokensText = t.total_tokens != null ? `${fmtInt(t.total_tokens)} (in ${fmtInt(t.input_tokens)} · out ${fmtInt(t.output_tokens)})` : null;
  const created = parseTime(proof.created_at);
  return el("dl", { class: "facts review-facts" },
    ...fact("Tokens", tokensText),
    ...fact("Cost", cost),
    ...fact("Turns", proof.turns),
    ...fact("Attempts", proof.attempts),
    ...fact("Wall time", fmtMs(proof.duration_ms)),
    ...fact("Handed off", created == null ? null : new Date(created).toLocaleString()),
    ...fact("Base → head", proof.base || proof.head ? `${String(proof.base || "?").slice(0, 10)} → ${String(proof.head || "?").slice(0, 10)}` : null));
}

function filesTable(files) {
  if (!files.length) return el("p", { class: "empty" }, "No file differs from the base.");
  const rows = files.map((f) => el("tr", {},
    el("td", { class: "mono path" }, f.path),
    el("td", { class: "num added" }, `+${fmtInt(f.added)}`),
    el("td", { class: "num removed" }, `−${fmtInt(f.removed)}`),
    el("td", {}, f.uncommitted ? el("span", { class: "badge badge-warn" }, "uncommitted") : "")));
  return el("table", { class: "files" },
    el("caption", { class: "visually-hidden" }, "Files changed since the base"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "File"), el("th", { scope: "col", class: "num" }, "Added"), el("th", { scope: "col", class: "num" }, "Removed"), el("th", { scope: "col" }, ""))),
    el("tbody", {}, ...rows));
}

function listBlock(title, items, render) {
  if (!items.length) return null;
  return el("details", { class: "review-more" }, el("summary", {}, `${title} (${items.length})`), el("ul", { class: "review-items" }, ...items.map((item) => el("li", {}, ...render(item)))));
}

// Trackers that link pull requests (GitHub) put them in the proof: null when the read failed.
function pullRequests(prs) {
  if (prs === undefined) return null;
  if (prs === null) return el("p", { class: "empty" }, "The linked pull requests could not be read at the hand-off.");
  if (!prs.length) return el("p", { class: "empty review-prs" }, "No pull request is linked to this issue.");
  const rows = prs.map((pr) => {
    const checks = pr.checks || {};
    const failing = Array.isArray(checks.failing) ? checks.failing : [];
    const ok = checks.state === "SUCCESS";
    return el("li", {},
      isHttpUrl(pr.url) ? el("a", { href: pr.url, rel: "noopener noreferrer", target: "_blank" }, pr.url) : el("code", {}, String(pr.url || "")),
      ` · ${String(pr.state || "?").toLowerCase()}`,
      pr.review_decision ? ` · ${String(pr.review_decision).toLowerCase().replaceAll("_", " ")}` : "",
      checks.state ? el("span", { class: ok ? "ok-text" : "error-text" }, ` · checks ${String(checks.state).toLowerCase()}`) : "",
      failing.length ? el("span", { class: "error-text" }, ` (failing: ${failing.join(", ")})`) : "");
  });
  return el("div", { class: "review-prs" }, el("h4", {}, "Pull requests"), el("ul", { class: "review-items" }, ...rows));
}

function when(text) {
  const at = parseTime(text);
  return at == null ? "?" : new Date(at).toLocaleString();
}

// The runs that led to this hand-off, oldest first, ending with the hand-off itself.
function timeline(item) {
  const runs = Array.isArray(item.runs) ? item.runs : [];
  const steps = runs.map((run) => ({
    text: `${run.attempt ? `Retry #${run.attempt}` : "Run"} · ${when(run.started_at)} → ${when(run.ended_at)} · ${run.turns} turn${run.turns === 1 ? "" : "s"} · ${fmtInt((run.tokens || {}).total_tokens)} tokens`,
    outcome: run.outcome,
    error: run.error,
  }));
  if (item.proof) steps.push({ text: `Handed off · ${when(item.proof.created_at)}`, outcome: item.proof.verify ? (item.proof.verify.passed ? "verify passed" : "verify failed") : null });
  return listBlock("Timeline", steps, (step) => [
    step.text,
    step.outcome ? el("span", { class: step.outcome === "succeeded" || step.outcome === "verify passed" ? "ok-text" : "error-text" }, ` · ${step.outcome}`) : "",
    step.error ? el("span", { class: "review-note" }, ` (${step.error})`) : ""]);
}

function proofBlock(item) {
  const proof = item.proof;
  if (!proof) return [el("p", { class: "empty" }, "No proof of work was recorded for this hand-off.")];
  const blocks = [];
  const verify = proof.verify;
  blocks.push(el("div", { class: "review-status" }, verifyBadge(verify), proof.note ? el("span", { class: "review-note" }, proof.note) : null));
  if (verify && !verify.passed && verify.output_tail) blocks.push(el("pre", { class: "mono verify-output", "aria-label": "Verify output" }, verify.output_tail));
  if (proof.final_message) blocks.push(el("div", { class: "review-summary" }, el("h4", {}, "Summary"), el("p", { class: "final-message" }, proof.final_message)));
  blocks.push(proofFacts(proof));
  blocks.push(pullRequests(proof.pull_requests));
  blocks.push(el("h4", {}, "Files"), filesTable(Array.isArray(proof.files) ? proof.files : []));
  blocks.push(listBlock("Commits", Array.isArray(proof.commits) ? proof.commits : [], (c) => [el("code", {}, String(c.sha || "").slice(0, 10)), " ", c.subject || ""]));
  blocks.push(listBlock("Commands", Array.isArray(proof.commands) ? proof.commands : [], (c) => [
    el("code", {}, c.command || ""), " ",
    el("span", { class: c.exit_code === 0 ? "ok-text" : "error-text" }, `exit ${c.exit_code ?? "?"}`),
    c.duration_ms != null ? ` · ${fmtMs(c.duration_ms)}` : ""]));
  blocks.push(timeline(item));
  if (Array.isArray(proof.files) && proof.files.length) {
    const diff = el("div", { class: "diff-box", "data-diff": item.issue_identifier }, el("p", { class: "empty" }, "Loading the diff…"));
    blocks.push(el("h4", {}, "Diff"), diff);
    loadDiff(item, diff);
  }
  return blocks.filter(Boolean);
}

async function loadDiff(item, box) {
  const id = encodeURIComponent(item.issue_identifier);
  const result = await callApi("GET", `/api/v1/review/${id}/diff`);
  if (!result.ok) {
    box.replaceChildren(el("p", { class: "empty" }, result.status === 404 ? "No diff recorded." : `Could not load the diff: ${failure(result)}`));
    return;
  }
  showDiff(box, result.data, "The diff is longer than the page shows; GET /api/v1/<identifier>/diff has all of it.");
}

// The files of a rendered diff (GET /api/v1/review/...), or a line saying there are none.
function showDiff(box, data, truncatedText) {
  const files = Array.isArray(data.files) ? data.files : [];
  const nodes = files.map((file, index) => diffFile(file, index < 8 && file.lines.length <= 600));
  if (!files.length) nodes.push(el("p", { class: "empty" }, data.note || "The diff is empty."));
  if (data.truncated) nodes.push(el("p", { class: "diff-truncated", role: "note" }, truncatedText));
  box.replaceChildren(...nodes);
  return files;
}

const STATUS_TEXT = { added: "added", deleted: "deleted", renamed: "renamed", modified: "" };

function diffFile(file, open) {
  const name = file.old_path && file.old_path !== file.path ? `${file.old_path} → ${file.path}` : file.path;
  const summary = el("summary", { class: "diff-head" },
    el("span", { class: "mono path" }, name),
    STATUS_TEXT[file.status] ? el("span", { class: "badge state-badge" }, STATUS_TEXT[file.status]) : null,
    el("span", { class: "added" }, `+${fmtInt(file.added)}`),
    el("span", { class: "removed" }, `−${fmtInt(file.removed)}`));
  const details = el("details", { class: "diff-file", open: open ? true : null, "data-path": file.path }, summary);
  if (file.binary) { details.append(el("p", { class: "empty" }, "Binary file.")); return details; }
  const body = el("tbody");
  for (const line of file.lines || []) {
    const code = el("td", { class: "code" });
    for (const [cls, text] of line.tokens || []) code.append(cls ? el("span", { class: `hl-${cls}` }, text) : document.createTextNode(text));
    const marker = { add: "+", del: "−", ctx: " ", hunk: "", note: "" }[line.kind] || "";
    body.append(el("tr", { class: `dl dl-${line.kind}` },
      el("td", { class: "ln" }, line.old ?? ""),
      el("td", { class: "ln" }, line.new ?? ""),
      el("td", { class: "mark", "aria-hidden": "true" }, marker),
      code));
  }
  details.append(el("div", { class: "diff-scroll" }, el("table", { class: "diff", "aria-label": `Changes in ${file.path}` }, body)));
  if (file.truncated) details.append(el("p", { class: "empty" }, "This file's diff is cut here."));
  return details;
}

function reviewCard(item) {
  const id = item.issue_identifier;
  const card = el("article", { class: "panel review-card", "data-key": cardKey(item), "data-issue": id, "aria-labelledby": `review-title-${id}` });
  const head = el("div", { class: "review-head" },
    el("h3", { id: `review-title-${id}` }, el("span", { class: "issue-link" }, id), " ", item.title || ""),
    el("span", { class: "badge state-badge" }, item.state || "?"),
    ...(item.labels || []).map((label) => el("span", { class: "label" }, label)),
    isHttpUrl(item.url) ? el("a", { class: "external", href: item.url, target: "_blank", rel: "noopener noreferrer" }, "open in tracker ↗") : null);
  const outcome = el("p", { class: "outcome review-outcome", role: "status" });
  const comment = el("textarea", { id: `rework-${id}`, rows: 3, class: "rework-input", placeholder: "What should change? The next run reads this comment." });
  const rework = el("div", { class: "rework", hidden: true },
    el("label", { for: `rework-${id}` }, "Rework comment (required)"), comment);
  const approve = el("button", { type: "button", class: "button", "data-decision": "approve" }, "Approve");
  const reworkButton = el("button", { type: "button", class: "button button-danger", "data-decision": "rework" }, "Rework");
  const send = el("button", { type: "button", class: "button button-danger", hidden: true }, "Send back for rework");
  const cancel = el("button", { type: "button", class: "button button-quiet", hidden: true }, "Cancel");
  const buttons = [approve, reworkButton, send, cancel];
  const busy = (on) => { for (const b of buttons) b.disabled = on; };
  const setOutcome = (text, bad) => { outcome.textContent = text; outcome.classList.toggle("error-text", Boolean(bad)); };

  async function decide(body) {
    busy(true);
    const result = await callApi("POST", `/api/v1/${encodeURIComponent(id)}/review`, body);
    if (result.status === 202) {
      const d = result.data;
      setOutcome(`${d.issue_identifier} moved to ${d.state}${d.comment_posted ? ", comment posted" : ""}.`, false);
      // The card stays, marked, until the queue is read again (the next snapshot or Reload).
      card.classList.add("decided");
    } else {
      setOutcome(`Not done: ${failure(result)}`, true);
      busy(false);
    }
  }

  approve.addEventListener("click", () => decide({ decision: "approve" }));
  reworkButton.addEventListener("click", () => {
    rework.hidden = false; send.hidden = false; cancel.hidden = false; reworkButton.hidden = true;
    comment.focus();
  });
  cancel.addEventListener("click", () => {
    rework.hidden = true; send.hidden = true; cancel.hidden = true; reworkButton.hidden = false;
    setOutcome("", false);
  });
  send.addEventListener("click", () => {
    const text = comment.value.trim();
    if (!text) {
      setOutcome("A rework comment is required: say what to change.", true);
      comment.setAttribute("aria-invalid", "true");
      comment.focus();
      return;
    }
    comment.removeAttribute("aria-invalid");
    decide({ decision: "rework", comment: text });
  });
  const candidates = Array.isArray(item.candidates) ? item.candidates : [];
  const picks = [];
  if (candidates.length) {
    // Best of K (docs/best-of.md): approving means picking one candidate.
    approve.hidden = true;
    const grid = el("div", { class: "candidates", role: "list", "aria-label": `Candidates of ${id}` }, ...candidateOrder(candidates).map((c) => {
      const pick = c.status === "handed_off"
        ? el("button", { type: "button", class: "button", "data-candidate": c.name }, `Approve ${c.name}`)
        : null;
      if (pick) {
        picks.push(pick);
        pick.addEventListener("click", () => decide({ decision: "approve", candidate: c.name }));
      }
      return candidateColumn(id, c, pick);
    }));
    card.append(head, el("h4", {}, `Candidates (${candidates.length})`), grid);
  } else {
    card.append(head, ...proofBlock(item));
  }
  buttons.push(...picks);
  const actions = el("div", { class: "review-actions" }, approve, reworkButton, send, cancel);
  card.append(rework, actions, outcome);
  return card;
}

// Best first when the judge ranked them, then by name (a, b, …, z, aa: shorter names first).
export function candidateOrder(candidates) {
  const rank = (c) => (Number.isFinite(Number(c.rank)) && c.rank != null ? Number(c.rank) : Infinity);
  const byName = (x, y) => String(x.name).length - String(y.name).length || String(x.name).localeCompare(String(y.name));
  return [...candidates].sort((x, y) => rank(x) - rank(y) || byName(x, y));
}

function candidateVerify(c) {
  const badge = c.verify === "passed" ? el("span", { class: "badge badge-live verify", "data-verify": "passed" }, "verify passed")
    : c.verify === "failed" ? el("span", { class: "badge badge-bad verify", "data-verify": "failed" }, "verify failed")
      : el("span", { class: "badge badge-muted verify", "data-verify": "none" }, "verify: not run");
  const output = c.verify_output
    ? el("details", { class: "review-more verify-details", open: c.verify === "failed" ? true : null },
      el("summary", {}, "Verify output"),
      el("pre", { class: `mono verify-output${c.verify === "passed" ? " verify-output-ok" : ""}`, "aria-label": `Verify output of candidate ${c.name}` }, c.verify_output))
    : null;
  return [badge, output];
}

// One column of a best-of issue: everything about one candidate, its diff read from its
// workspace on demand (GET /api/v1/review/<identifier>/candidates/<name>/diff).
function candidateColumn(id, c, pick) {
  const cost = c.cost_usd != null && Number.isFinite(Number(c.cost_usd)) ? `$${Number(c.cost_usd).toFixed(2)}` : null;
  const names = Array.isArray(c.files) ? c.files : [];
  const [verify, output] = candidateVerify(c);
  const files = el("div", { class: "candidate-files" }, names.length
    ? el("ul", { class: "review-items mono" }, ...names.map((name) => el("li", {}, name)))
    : el("p", { class: "empty" }, c.status === "handed_off" ? "No file differs from the base." : "No files recorded."));
  const diff = el("div", { class: "diff-box", "data-diff": `${id}.${c.name}` });
  const label = `candidate-title-${id}-${c.name}`;
  const column = el("section", { class: "candidate", role: "listitem", "data-candidate": c.name, "data-status": c.status, "aria-labelledby": label, tabindex: "0" },
    el("header", { class: "candidate-head" },
      el("h5", { id: label }, `Candidate ${c.name}`, c.rank != null ? el("span", { class: "badge state-badge rank" }, `rank ${c.rank}`) : null),
      el("div", { class: "review-status" }, el("span", { class: `badge candidate-status ${c.status === "failed" ? "badge-bad" : "state-badge"}` }, String(c.status || "?").replaceAll("_", " ")), verify),
      pick),
    c.reason ? el("p", { class: "review-note judge-reason" }, `Judge: ${c.reason}`) : null,
    c.error ? el("p", { class: "error-text candidate-error", role: "note" }, `Failed: ${c.error}`) : null,
    c.summary ? el("div", { class: "review-summary" }, el("h4", {}, "Summary"), el("p", { class: "final-message" }, c.summary)) : null,
    output,
    el("dl", { class: "facts review-facts" },
      ...fact("Tokens", c.tokens != null ? fmtInt(c.tokens) : null),
      ...fact("Cost", cost),
      ...fact("Workspace", c.workspace)),
    el("h4", {}, "Files"), files,
    el("h4", {}, "Diff"), diff);
  if (c.workspace) {
    diff.append(el("p", { class: "empty" }, "Loading the diff…"));
    loadCandidateDiff(id, c.name, diff, files);
  } else {
    diff.append(el("p", { class: "empty" }, "No workspace: this candidate never started."));
  }
  return column;
}

async function loadCandidateDiff(id, name, box, filesBox) {
  const path = `/api/v1/review/${encodeURIComponent(id)}/candidates/${encodeURIComponent(name)}/diff`;
  const result = await callApi("GET", path);
  if (!result.ok) {
    const error = result.data && result.data.error;
    box.replaceChildren(el("p", { class: "empty" }, error && result.status === 404 ? `No diff: ${error.message}.` : `Could not load the diff: ${failure(result)}`));
    return;
  }
  const files = showDiff(box, result.data, `Diff truncated: GET /api/v1/${id}/candidates/${name}/diff has what was read.`);
  // The diff counts every file's lines: the plain list of names becomes a table.
  if (files.length) filesBox.replaceChildren(filesTable(files));
}

export function startReview() {
  $("review-reload").addEventListener("click", () => loadReview());
}
