// The dashboard's few live parts: the composer's missing languages and recipient count, and
// the delivery progress bar. The pages work without it (plain forms).
"use strict";

function missingLanguages() {
  // One line per group of texts (the composer's, a round's opening and closing messages):
  // the languages without a text. An optional group says nothing until a text is written.
  document.querySelectorAll("[data-missing]").forEach((box) => {
    const selector = `textarea[data-language][data-group="${box.dataset.missing}"]`;
    const areas = Array.from(document.querySelectorAll(selector));
    const update = () => {
      const missing = areas.filter((a) => !a.value.trim()).map((a) => a.dataset.language);
      const idle = box.dataset.optional && missing.length === areas.length;
      box.textContent = missing.length && !idle ? box.dataset.label + " " + missing.join(", ") : "";
    };
    areas.forEach((a) => a.addEventListener("input", update));
    update();
  });
}

function recipientCount() {
  const out = document.getElementById("recipient-count");
  const fieldset = document.getElementById("audience");
  if (!out || !fieldset) return;
  let timer = null;
  const update = async () => {
    const params = new URLSearchParams();
    fieldset.querySelectorAll("input[type=checkbox]:checked").forEach((box) => {
      params.append(box.name, box.value);
    });
    try {
      const response = await fetch(out.dataset.url + "?" + params, { credentials: "same-origin" });
      const data = await response.json();
      out.textContent = data.label || data.error || "";
      out.dataset.recipients = data.recipients ?? "";
    } catch (error) {
      out.textContent = "";
    }
  };
  fieldset.addEventListener("change", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  });
  update();
}

function progress() {
  const box = document.getElementById("progress");
  if (!box) return;
  const bar = document.getElementById("progress-bar");
  const text = document.getElementById("progress-text");
  const template = document.getElementById("progress-template").innerHTML;
  const tick = async () => {
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin" });
      const data = await response.json();
      bar.value = data.percent;
      text.textContent = template.replace(/\{(\w+)\}/g, (_m, name) => data[name] ?? "");
      const status = document.getElementById("status");
      if (status) status.textContent = data.status;
      if (data.status === "done" || data.status === "cancelled") return;
    } catch (error) {
      // try again at the next tick
    }
    setTimeout(tick, 2000);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  missingLanguages();
  recipientCount();
  progress();
});
