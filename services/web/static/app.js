// The little script the pages use; every form works without it. It checks a form
// before it is sent, with the same words as the server (shared/eforms.py), beside the
// field at fault, and keeps a form from being sent twice by a double click.
"use strict";

const MESSAGES = {
  required: "Trường này là bắt buộc.",
  email: "Địa chỉ thư điện tử không hợp lệ.",
  date: "Ngày không hợp lệ.",
  number: "Phải là một số.",
  integer: "Phải là một số nguyên.",
  pattern: "Không đúng định dạng.",
  document: "Cần tải lên tệp hoặc chọn một tệp trong kho giấy tờ.",
};

function problem(input) {
  const v = input.validity;
  if (v.valueMissing) return MESSAGES.required;
  if (v.badInput) return input.type === "date" ? MESSAGES.date : MESSAGES.number;
  if (v.typeMismatch) return input.type === "email" ? MESSAGES.email : MESSAGES.pattern;
  if (v.patternMismatch) return MESSAGES.pattern;
  if (v.tooShort) return `Cần ít nhất ${input.minLength} ký tự.`;
  if (v.tooLong) return `Tối đa ${input.maxLength} ký tự.`;
  const exclusive = input.dataset.exclusiveMin;
  if (exclusive !== undefined && input.value !== "" && Number(input.value) <= Number(exclusive)) {
    return `Phải lớn hơn ${exclusive}.`;
  }
  if (v.rangeUnderflow) return `Phải lớn hơn hoặc bằng ${input.min}.`;
  if (v.rangeOverflow) return `Phải nhỏ hơn hoặc bằng ${input.max}.`;
  if (v.stepMismatch) return MESSAGES.integer;
  return null;
}

function show(container, control, message) {
  const error = container.querySelector(".field-error");
  if (!error) return;
  error.textContent = message || "";
  error.hidden = !message;
  container.classList.toggle("invalid", Boolean(message));
  for (const input of container.querySelectorAll("input, select")) {
    if (message) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
    } else {
      input.removeAttribute("aria-invalid");
    }
  }
  return control;
}

function check(form) {
  let first = null;
  for (const container of form.querySelectorAll("[data-field]")) {
    const control = container.querySelector("input:not([type=hidden]), select");
    if (!control) continue;
    const message = problem(control);
    show(container, control, message);
    if (message && !first) first = control;
  }
  for (const container of form.querySelectorAll("[data-document][data-required]")) {
    const file = container.querySelector("input[type=file]");
    const chosen = container.querySelector("select");
    const given = (file && file.files.length > 0) || (chosen && chosen.value !== "");
    show(container, file, given ? null : MESSAGES.document);
    if (!given && !first) first = file;
  }
  return first;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  const submitter = event.submitter;
  if (form.matches("[data-validate]") && !(submitter && submitter.formNoValidate)) {
    const first = check(form);
    if (first) {
      event.preventDefault();
      first.focus();
      return;
    }
  }
  if (form.matches("[data-once]")) {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "yes";
  }
});

document.addEventListener("input", (event) => {
  const container = event.target.closest("[data-field], [data-document]");
  if (container && container.classList.contains("invalid")) {
    const message = event.target.matches("[type=file]") ? null : problem(event.target);
    show(container, event.target, message);
  }
});

// The officers' queue by the keyboard, as the page says: J or ↓ the next dossier, K or
// ↑ the one before, Enter opens it, / goes to the filters, R refreshes; on a dossier's
// page H goes back to the queue and 1-9 open its actions. Coming back (or after the list refreshes itself) the
// dossier last opened has the focus again, so the officer keeps their place.
const LAST_ROW = "onestop.queue.last";

function typing(target) {
  return target.closest("input, select, textarea, [contenteditable]") !== null;
}

// The dossiers forwarded to the agency (above the queue) and the queue's own, in order.
const ROWS = "[data-steps] a.open, [data-queue] a.open";

function rows() {
  return Array.from(document.querySelectorAll(ROWS));
}

function focusRow(code) {
  const row = rows().find((link) => link.dataset.code === code);
  if (row) row.focus();
  return Boolean(row);
}

function step(by) {
  const links = rows();
  if (links.length === 0) return;
  const at = links.indexOf(document.activeElement);
  const next = at === -1 ? 0 : Math.min(Math.max(at + by, 0), links.length - 1);
  links[next].focus();
}

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
  const key = event.key;
  if (document.querySelector("[data-queue]")) {
    if (key === "j" || key === "J" || key === "ArrowDown") { step(1); event.preventDefault(); }
    else if (key === "k" || key === "K" || key === "ArrowUp") { step(-1); event.preventDefault(); }
    else if (key === "/") {
      const filter = document.querySelector("#bo-loc select");
      if (filter) { filter.focus(); event.preventDefault(); }
    } else if (key === "r" || key === "R") { window.location.reload(); }
    return;
  }
  // A link that names its key (H back to the queue, 1-9 a dossier's actions).
  const target = /^[a-zA-Z0-9]$/.test(key) && document.querySelector(`[data-key="${key.toLowerCase()}"]`);
  if (target) { event.preventDefault(); target.click(); }
});

document.addEventListener("focusin", (event) => {
  const link = event.target.closest(ROWS);
  if (link) sessionStorage.setItem(LAST_ROW, link.dataset.code);
});

document.addEventListener("DOMContentLoaded", () => {
  const last = sessionStorage.getItem(LAST_ROW);
  if (last && document.querySelector("[data-queue]")) focusRow(last);
});

// htmx 4 names its events htmx:before:swap and htmx:after:swap.
let queueHadFocus = false;
document.addEventListener("htmx:before:swap", () => {
  const region = document.querySelector("[data-queue]");
  queueHadFocus = Boolean(region && region.contains(document.activeElement));
});
document.addEventListener("htmx:after:swap", () => {
  const last = sessionStorage.getItem(LAST_ROW);
  if (queueHadFocus && last) focusRow(last);
  queueHadFocus = false;
});
