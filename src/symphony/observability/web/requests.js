// Requests agents park for a human (approvals, questions) and steering a running agent.
// See docs/human-requests.md. Answers and steers are POSTs to the same-origin API.
"use strict";

import { $, app, clockTime } from "./model.js";
import { el } from "./dom.js";

const KIND_LABELS = {
  command_approval: "Command",
  file_change_approval: "File change",
  mcp_approval: "MCP tool",
  question: "Question",
};

let pendingKey = null;
let fetching = false;
let again = false;
let notify = () => {};

export function setNotifier(fn) { notify = fn; }

// The running rows' pending counts decide when the list is re-read.
export function followSnapshot(snapshot) {
  const rows = Array.isArray(snapshot.running) ? snapshot.running : [];
  const key = rows.filter((r) => r.pending_request_count).map((r) => `${r.issue_identifier}:${r.pending_request_count}`).join(",");
  if (key === pendingKey) return;
  pendingKey = key;
  fetchRequests();
}

export async function fetchRequests() {
  if (fetching) { again = true; return; }
  fetching = true;
  try {
    const response = await fetch("/api/v1/requests", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.ok) {
      const body = await response.json();
      app.requests = Array.isArray(body.requests) ? body.requests : [];
      renderRequests();
    }
  } catch (_) {
    /* the next snapshot tries again */
  } finally {
    fetching = false;
    if (again) { again = false; fetchRequests(); }
  }
}

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.status === 202, status: response.status, data };
  } catch (_) {
    return { ok: false, status: 0, data: { error: { message: "the service is unreachable" } } };
  }
}

const errorText = (result) => (result.data.error && result.data.error.message) || `failed (${result.status})`;

async function answer(request, body, card) {
  for (const button of card.querySelectorAll("button")) button.disabled = true;
  const path = `/api/v1/${encodeURIComponent(request.issue_identifier)}/requests/${encodeURIComponent(request.id)}`;
  const result = await post(path, body);
  notify(result.ok ? `Answered ${request.issue_identifier}` : `Not answered: ${errorText(result)}`);
  if (!result.ok) for (const button of card.querySelectorAll("button")) button.disabled = false;
  fetchRequests();
}

function detailBlock(label, text) {
  if (text == null || text === "") return null;
  return el("div", { class: "request-detail" }, el("span", { class: "request-label" }, label), el("pre", { class: "mono" }, String(text)));
}

function questionFields(request) {
  return (request.questions || []).map((q) => {
    const inputId = `answer-${request.id}-${q.id}`;
    const listId = `${inputId}-options`;
    const input = el("input", {
      id: inputId, type: q.secret ? "password" : "text", class: "request-input", "data-question": q.id,
      list: (q.options || []).length ? listId : null, autocomplete: "off",
      placeholder: (q.options || []).length ? (q.options || []).join(" / ") : "your answer",
    });
    const options = (q.options || []).map((label) => el("option", { value: label }));
    return el("div", { class: "request-question" },
      el("label", { for: inputId }, q.header ? `${q.header}: ${q.question}` : q.question),
      input,
      options.length ? el("datalist", { id: listId }, ...options) : null);
  });
}

function requestCard(request) {
  const id = request.issue_identifier;
  const card = el("article", { class: "request-card", "data-request": request.id, "aria-label": `${id}: ${request.summary}` });
  const head = el("div", { class: "request-head" },
    el("a", { class: "issue-link", href: `#/issues/${encodeURIComponent(id)}` }, id),
    el("span", { class: "badge badge-warn" }, KIND_LABELS[request.kind] || request.kind),
    el("span", { class: "request-summary" }, request.summary || ""),
    el("time", { datetime: request.created_at || "" }, clockTime(request.created_at)));
  const details = [
    detailBlock("Command", request.command),
    detailBlock("In", request.cwd),
    detailBlock("Reason", request.reason),
    detailBlock("Diff", request.diff),
  ].filter(Boolean);
  const actions = el("div", { class: "request-actions" });
  if (request.kind === "question") {
    const fields = questionFields(request);
    const send = el("button", { type: "button", class: "button" }, "Send answers");
    send.addEventListener("click", () => {
      const answers = {};
      for (const input of card.querySelectorAll("input[data-question]")) answers[input.dataset.question] = input.value;
      answer(request, { answers }, card);
    });
    card.append(head, ...details, ...fields, actions);
    actions.append(send);
  } else {
    const choices = [["approve", "Approve", "button"], ["approve_for_session", "Approve for session", "button button-quiet"], ["deny", "Deny", "button button-danger"]];
    for (const [decision, label, cls] of choices) {
      const button = el("button", { type: "button", class: cls, "data-decision": decision }, label);
      button.addEventListener("click", () => answer(request, { decision }, card));
      actions.append(button);
    }
    card.append(head, ...details, actions);
  }
  return card;
}

export function renderRequests() {
  const section = $("requests-section");
  const list = $("requests");
  const rows = app.requests || [];
  section.hidden = rows.length === 0;
  $("requests-count").textContent = rows.length ? `(${rows.length})` : "";
  // Keep cards (and what an operator typed) that are still pending; add new ones in order.
  const existing = new Map([...list.children].map((node) => [node.dataset.request, node]));
  const cards = rows.map((request) => existing.get(request.id) || requestCard(request));
  list.replaceChildren(...cards);
}

// --- steering, in the detail panel ------------------------------------------------------------------------

export function renderSteer(detail) {
  const box = $("detail-steer");
  box.hidden = !(detail && detail.status === "running");
}

async function sendSteer() {
  const id = app.detailId;
  const input = $("steer-input");
  const message = input.value.trim();
  if (!id || !message) return;
  const button = $("steer-button");
  button.disabled = true;
  const result = await post(`/api/v1/${encodeURIComponent(id)}/steer`, { message });
  button.disabled = false;
  if (result.ok) {
    input.value = "";
    notify(result.data.delivery === "next_turn" ? "Guidance queued for the next turn" : "Guidance sent to the running turn");
  } else {
    notify(`Not sent: ${errorText(result)}`);
  }
}

export function startHuman(toast) {
  setNotifier(toast);
  $("steer-button").addEventListener("click", sendSteer);
  fetchRequests();
}
