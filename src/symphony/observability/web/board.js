// The local board (tracker.kind: local): columns by state, new issues, moves (a select on each
// card, or drag and drop), comments. See docs/observability.md, "Board".
"use strict";

import { $ } from "./model.js";
import { el } from "./dom.js";
import { callApi, failure, queueKey } from "./review.js";

const board = { data: null, visible: false, enabled: false, loading: false, again: false, lastKey: null };
const PRIORITY = { 1: "urgent", 2: "high", 3: "normal", 4: "low" };
const DRAG_TYPE = "text/x-symphony-issue";

export function boardOnSnapshot(snapshot) {
  const enabled = (snapshot.tracker || {}).kind === "local";
  if (enabled !== board.enabled) {
    board.enabled = enabled;
    $("tab-board").hidden = !enabled;
  }
  const key = queueKey(snapshot);
  if (!enabled || !board.visible || key === board.lastKey) return;
  board.lastKey = key;
  loadBoard();
}

export function boardEnabled() { return board.enabled; }

export function showBoard(visible) {
  board.visible = visible;
  if (visible) loadBoard();
}

export async function loadBoard() {
  if (board.loading) { board.again = true; return; }
  board.loading = true;
  try {
    const result = await callApi("GET", "/api/v1/board");
    const box = $("board-error");
    if (result.ok) {
      box.hidden = true;
      board.data = result.data;
      renderBoard();
    } else {
      box.hidden = false;
      box.textContent = `Could not read the board: ${failure(result)}`;
    }
  } finally {
    board.loading = false;
    if (board.again) { board.again = false; loadBoard(); }
  }
}

function say(text, bad) {
  const box = $("board-outcome");
  box.textContent = text;
  box.classList.toggle("error-text", Boolean(bad));
}

async function move(identifier, state) {
  const result = await callApi("POST", `/api/v1/board/issues/${encodeURIComponent(identifier)}/move`, { state });
  if (result.ok) say(`${identifier} moved to ${result.data.issue.state}.`, false);
  else say(`${identifier} not moved: ${failure(result)}`, true);
  await loadBoard();
  const card = document.querySelector(`.board-card[data-issue="${CSS.escape(identifier)}"] select`);
  if (card) card.focus();
}

async function comment(identifier, input, button) {
  const body = input.value.trim();
  if (!body) { say(`A comment on ${identifier} needs some text.`, true); input.focus(); return; }
  button.disabled = true;
  const result = await callApi("POST", `/api/v1/board/issues/${encodeURIComponent(identifier)}/comments`, { body });
  button.disabled = false;
  if (result.ok) { input.value = ""; say(`Comment posted on ${identifier}.`, false); }
  else say(`Comment not posted: ${failure(result)}`, true);
}

function card(issue, states) {
  const id = issue.identifier;
  const node = el("article", { class: "board-card", draggable: "true", "data-issue": id, "aria-label": `${id}: ${issue.title}` });
  const select = el("select", { class: "move-select", "aria-label": `Move ${id} to` },
    ...states.map((state) => el("option", { value: state, selected: state === issue.state ? true : null }, state)));
  select.addEventListener("change", () => move(id, select.value));
  const input = el("textarea", { rows: 2, class: "comment-input", "aria-label": `Comment on ${id}` });
  const post = el("button", { type: "button", class: "button button-quiet" }, "Post comment");
  post.addEventListener("click", () => comment(id, input, post));
  node.append(...[
    el("div", { class: "card-head" },
      el("span", { class: "issue-link" }, id),
      issue.priority ? el("span", { class: `priority priority-${issue.priority}`, title: "priority" }, `P${issue.priority} ${PRIORITY[issue.priority] || ""}`) : null,
      issue.blocked ? el("span", { class: "badge badge-warn", title: "blocked by open issues" }, `blocked by ${issue.blocked_by.map((b) => b.identifier).join(", ")}`) : null),
    el("p", { class: "card-title" }, issue.title),
    (issue.labels || []).length ? el("div", { class: "card-labels" }, ...issue.labels.map((label) => el("span", { class: "label" }, label))) : null,
    el("div", { class: "card-actions" }, select),
    el("details", { class: "card-comment" }, el("summary", {}, "Comment"), input, post),
  ].filter(Boolean));
  node.addEventListener("dragstart", (e) => {
    e.dataTransfer.setData(DRAG_TYPE, id);
    e.dataTransfer.effectAllowed = "move";
  });
  return node;
}

function column(state, issues, total, states) {
  const list = el("div", { class: "board-list" }, ...issues.map((issue) => card(issue, states)));
  const more = total > issues.length ? el("p", { class: "empty" }, `Showing ${issues.length} of ${total}.`) : null;
  const col = el("section", { class: "board-column", "data-state": state, "aria-label": `${state}: ${total} issues` },
    el("h3", {}, state, el("span", { class: "count" }, String(total))), list, more);
  col.addEventListener("dragover", (e) => {
    if (![...e.dataTransfer.types].includes(DRAG_TYPE)) return;
    e.preventDefault();
    col.classList.add("drop-target");
  });
  col.addEventListener("dragleave", () => col.classList.remove("drop-target"));
  col.addEventListener("drop", (e) => {
    col.classList.remove("drop-target");
    const id = e.dataTransfer.getData(DRAG_TYPE);
    if (!id) return;
    e.preventDefault();
    move(id, state);
  });
  return col;
}

function renderBoard() {
  const data = board.data;
  if (!data) return;
  const states = Array.isArray(data.states) ? data.states : [];
  const issues = Array.isArray(data.issues) ? data.issues : [];
  const counts = data.counts || {};
  const known = new Set(states);
  // A card whose state the board no longer lists still shows, in a column of its own.
  const extra = [...new Set(issues.map((i) => i.state).filter((s) => !known.has(s)))];
  const columns = [...states, ...extra].map((state) => {
    const mine = issues.filter((issue) => issue.state === state);
    return column(state, mine, Math.max(Number(counts[state]) || 0, mine.length), states);
  });
  // Keep what someone is typing in an open comment box across a reload.
  const active = document.activeElement;
  if (active && active.closest && active.closest("#board-columns") && active.matches("textarea")) return;
  $("board-columns").replaceChildren(...columns);
}

async function create(event) {
  event.preventDefault();
  const title = $("new-title").value.trim();
  if (!title) { say("A new issue needs a title.", true); $("new-title").focus(); return; }
  const priority = $("new-priority").value;
  const body = {
    title,
    description: $("new-description").value.trim() || null,
    priority: priority ? Number(priority) : null,
    labels: $("new-labels").value.split(",").map((l) => l.trim()).filter(Boolean),
  };
  const button = $("new-submit");
  button.disabled = true;
  const result = await callApi("POST", "/api/v1/board/issues", body);
  button.disabled = false;
  if (result.status === 201) {
    const issue = result.data.issue;
    say(`${issue.identifier} created in ${issue.state}.`, false);
    $("board-new").reset();
    await loadBoard();
  } else {
    say(`Not created: ${failure(result)}`, true);
  }
}

export function startBoard() {
  $("board-new").addEventListener("submit", create);
  $("board-reload").addEventListener("click", () => loadBoard());
}
