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
