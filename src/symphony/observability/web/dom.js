// Small DOM helpers. Every value from the server goes in as text, never as HTML.
"use strict";

import { $, isHttpUrl } from "./model.js";

export function el(tag, attrs, ...children) {
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

export function setText(id, text) {
  const node = $(id);
  if (node && node.textContent !== text) node.textContent = text;
}

// Keyed row reconciliation: rows keep their identity (and keyboard focus) across updates;
// a cell is rebuilt only when its signature changes.
export function syncRows(table, rows, keyOf, cellsOf) {
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
export function flash(node) {
  if (reducedMotion.matches || typeof node.animate !== "function") return;
  node.animate([{ backgroundColor: "var(--accent-soft)" }, { backgroundColor: "transparent" }], { duration: 1200, easing: "ease-out" });
}

export const cell = (content, opts = {}) => {
  const list = Array.isArray(content) ? content : [content];
  const nodes = list.filter((c) => c != null).map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
  const sig = opts.sig != null ? opts.sig : JSON.stringify(list.map((c) => (c instanceof Node ? c.outerHTML : String(c))));
  return { content: nodes, sig, class: opts.class, flash: opts.flash };
};

// One row per run: a best-of candidate's run (docs/best-of.md) is its issue's key plus its name.
export function runKey(row) {
  const id = row.issue_identifier || row.issue_id;
  return row.candidate ? `${id}.${row.candidate}` : id;
}

export function issueCell(row) {
  const id = row.issue_identifier || row.issue_id || "?";
  const link = el("a", { class: "issue-link", href: `#/issues/${encodeURIComponent(id)}`, "aria-label": `Show details for ${id}` }, id);
  const parts = [link];
  if (row.candidate) parts.push(el("span", { class: "badge candidate-badge", title: `best-of candidate ${row.candidate}` }, row.candidate));
  if (isHttpUrl(row.issue_url)) {
    parts.push(el("a", { class: "external", href: row.issue_url, target: "_blank", rel: "noopener noreferrer", title: "Open in tracker", "aria-label": `Open ${id} in the tracker` }, "↗"));
  }
  if (row.title) parts.push(el("span", { class: "issue-title", title: row.title }, row.title));
  return cell(parts, { class: "issue-cell", sig: JSON.stringify([id, row.candidate, row.issue_url, row.title]) });
}
