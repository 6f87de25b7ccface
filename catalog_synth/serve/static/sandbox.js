// The sandbox page: run a query, show the rows or the error. No framework, no CDN.
"use strict";

const form = document.getElementById("query-form");
const editor = document.getElementById("sql");
const dialect = document.getElementById("dialect");
const runButton = document.getElementById("run");
const errorBox = document.getElementById("error");
const statusLine = document.getElementById("status");
const grid = document.getElementById("results");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

// Before another query: no error, rows or status left over from the last one.
function clearResult() {
  errorBox.hidden = true;
  errorBox.textContent = "";
  grid.replaceChildren();
  statusLine.textContent = "";
}

function cellText(value) {
  if (value === null) return "NULL";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function renderRows(payload) {
  const head = grid.createTHead();
  const headRow = head.insertRow();
  for (const column of payload.columns) {
    const th = document.createElement("th");
    th.textContent = column.name;
    th.title = column.type;
    headRow.appendChild(th);
  }
  const body = grid.createTBody();
  for (const row of payload.rows) {
    const tr = body.insertRow();
    for (const value of row) {
      const td = tr.insertCell();
      td.textContent = cellText(value);
      if (value === null) td.className = "null";
    }
  }
  const rows = payload.row_count === 1 ? "1 row" : `${payload.row_count.toLocaleString()} rows`;
  const more = payload.truncated ? " (truncated: add a LIMIT or narrow the query)" : "";
  statusLine.textContent = `${rows} in ${payload.elapsed_ms.toFixed(1)} ms${more}`;
}

function errorMessage(response, payload) {
  if (payload && payload.error) return payload.error.message;
  if (payload && payload.detail) return JSON.stringify(payload.detail);
  return `The server answered ${response.status}.`;
}

async function runQuery() {
  clearResult();
  statusLine.textContent = "Running…";
  runButton.disabled = true;
  try {
    const response = await fetch(form.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sql: editor.value, dialect: dialect.value }),
    });
    const payload = await response.json().catch(() => null);
    if (response.ok) {
      renderRows(payload);
    } else {
      statusLine.textContent = "";
      showError(errorMessage(response, payload));
    }
  } catch (failure) {
    statusLine.textContent = "";
    showError(`Could not reach the sandbox: ${failure}`);
  } finally {
    runButton.disabled = false;
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  runQuery();
});

editor.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    runQuery();
  }
});

for (const button of document.querySelectorAll("button.table-name")) {
  button.addEventListener("click", (event) => {
    event.preventDefault();
    editor.value = `SELECT * FROM ${button.dataset.table} LIMIT 100`;
    clearResult();
    editor.focus();
  });
}
