// The alert list: rows for alerts that arrive while the page is open, built without reloading.
"use strict";

(function () {
  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function ackForm(alert, back) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/alerts/" + alert.id + "/acknowledge";
    form.className = "form compact ack-form";
    const fields = { csrf_token: window.AffectWatch.csrfToken(), back };
    Object.entries(fields).forEach(([name, value]) => {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      form.append(input);
    });
    const note = document.createElement("input");
    note.name = "note"; note.placeholder = "Note"; note.maxLength = 2000;
    note.setAttribute("aria-label", "Note for alert " + alert.id);
    const button = document.createElement("button");
    button.type = "submit"; button.className = "button small primary"; button.textContent = "Acknowledge";
    form.append(note, button);
    return form;
  }

  function addRow(table, alert) {
    if (table.querySelector('tr[data-alert-id="' + alert.id + '"]')) return;
    const row = document.createElement("tr");
    row.dataset.alertId = alert.id;
    row.className = "alert-row state-row-" + alert.state + " new-alert flash-in";
    const when = document.createElement("td");
    const link = document.createElement("a");
    link.href = "/alerts/" + alert.id;
    link.textContent = new Date(alert.opened_at).toLocaleString();
    when.append(link);
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge state-" + alert.state;
    badge.textContent = alert.state;
    state.append(badge);
    const ack = document.createElement("td");
    if (table.dataset.canAck === "1" && alert.state === "open") ack.append(ackForm(alert, table.dataset.back));
    row.append(when, cell(alert.summary), state, cell(alert.camera_name || "—"), ack);
    const body = table.tBodies[0];
    const empty = body.querySelector(".no-alerts");
    if (empty) empty.remove();
    body.prepend(row);
  }

  document.addEventListener("affectwatch:alerts", (event) => {
    const table = document.getElementById("alerts-table");
    if (table) event.detail.slice().reverse().forEach((a) => addRow(table, a));
  });
})();
