// Progressive enhancement of the upload form: drag and drop, paste, several
// photos with previews, answers without a page reload. Without JavaScript the
// form still POSTs to the page and the server renders the same cards.
"use strict";

(function () {
  const form = document.getElementById("upload");
  const input = document.getElementById("image");
  const dropzone = document.getElementById("dropzone");
  const results = document.getElementById("results");
  const status = document.getElementById("status");
  const announce = document.getElementById("announce");  // read out by screen readers (aria-live)
  const button = form.querySelector("button[type=submit]");
  const API = "/api/v1/predict?heatmap=1";
  const FEEDBACK_API = "/api/v1/feedback";
  const feedbackTemplate = document.getElementById("feedback-template");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Same rule as the `percent` template filter: never round 0.9996 up to "100%".
  function percent(x) {
    if (x >= 0.999) return ">99.9%";
    if (x >= 0.99) return (Math.floor(x * 1000) / 10).toFixed(1) + "%";
    if (x > 0 && x < 0.001) return "<0.1%";
    return Math.round(x * 100) + "%";
  }

  function pendingCard(file) {
    const card = el("article", "result is-pending");
    const picture = el("div", "result-picture");
    const img = el("img", "result-image");
    img.alt = "Preview of " + file.name;
    img.src = URL.createObjectURL(file);
    img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
    // a browser that cannot show the file (HEIC outside Safari) keeps the grey square, not a
    // broken-image icon, until the answer brings the photo as the server decoded it
    img.addEventListener("error", () => img.remove(), { once: true });
    picture.append(img);
    const body = el("div", "result-body");
    body.append(el("h2", "result-filename", file.name || "pasted image"));
    card.append(picture, body);
    return card;
  }

  // The same photo / heatmap switch as the server renders (templates/web/result.html).
  let switches = 0;  // radio groups need page-wide unique names
  function showPhotoAndHeatmap(card, p) {
    const photo = el("img", "result-image result-photo");
    photo.src = p.heatmap.photo;
    photo.alt = p.filename + ", as the model saw it";
    const heatmap = el("img", "result-image result-heatmap");
    heatmap.src = p.heatmap.image;
    heatmap.alt = "Where the model looked in " + p.filename;
    card.querySelector(".result-picture").replaceChildren(photo, heatmap);
    const view = el("fieldset", "result-view");
    view.append(el("legend", "", "Show"));
    const name = "view-js-" + (++switches);
    [["photo", "Photo"], ["heatmap", "Where it looked"]].forEach(([value, text], i) => {
      const radio = el("input");
      radio.type = "radio"; radio.name = name; radio.value = value; radio.id = name + "-" + value;
      radio.checked = i === 0;
      const label = el("label");
      label.htmlFor = radio.id;
      label.append(radio, text);  // the button inside its label: the two never wrap apart
      view.append(label);
    });
    card.querySelector(".result-picture").after(view);
  }

  // "Wrong? It's ...": the page's own form (templates/web/feedback_form.html), posted to the API
  // with the photo this page still holds; the photo goes only when the box is ticked.
  function feedbackForm(p, file, context) {
    const form = feedbackTemplate.content.firstElementChild.cloneNode(true);
    form.elements.predicted.value = p.label;
    form.elements.model_version.value = context.version;
    form.elements.request_id.value = context.requestId;
    form.querySelectorAll("button[name=correct]").forEach((b) => { b.hidden = b.value === p.label; });
    const keep = form.querySelector("input[name=consent]");
    keep.id = "keep-" + (++switches);
    keep.closest("label").htmlFor = keep.id;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendFeedback(form, event.submitter, file, p.filename);
    });
    return form;
  }

  async function sendFeedback(form, button, file, filename) {
    const body = new FormData(form);  // labels, version, request id, and consent if ticked
    body.set("correct", button.value);
    const consent = form.elements.consent.checked;
    body.set("consent", consent ? "true" : "false");
    if (consent) body.append("image", file, file.name || "pasted.png");
    form.querySelectorAll("button, input").forEach((n) => { n.disabled = true; });
    let message;
    try {
      const response = await fetch(FEEDBACK_API, { method: "POST", body: body });
      const answer = await response.json().catch(() => null);
      if (response.status === 201 && answer) {
        message = "Thank you: " + filename + " is " + button.textContent + (answer.photo_kept
          ? ". Your answer and the photo were kept." : ". Your answer was kept, and no photo.");
      } else {
        message = answer && answer.error ? answer.error.message
          : "The server could not take your answer (HTTP " + response.status + ").";
      }
    } catch (error) {
      message = "Could not reach the server. Check your connection and try again.";
    }
    const thanks = el("p", "feedback-thanks", message);
    thanks.tabIndex = -1;  // focus moves here: the button pressed is gone
    form.replaceWith(thanks);
    thanks.focus();
    announce.textContent = message;
  }

  function fillCard(card, p, file, context) {
    card.classList.remove("is-pending");
    const body = card.querySelector(".result-body");
    body.replaceChildren(el("h2", "result-filename", p.filename));
    if (p.error) {
      card.classList.add("result-error");
      card.querySelector(".result-picture").remove();  // the browser could not show it either
      body.append(el("p", "result-message", p.error.message));
      return;
    }
    if (p.heatmap) showPhotoAndHeatmap(card, p);
    const label = el("p", "result-label", p.label);
    label.dataset.label = p.label;
    const confidence = el("p", "result-confidence");
    const bar = el("progress", "result-bar");
    bar.max = 1; bar.value = p.confidence;
    confidence.append(el("span", "result-confidence-text", percent(p.confidence) + " sure"), bar);
    const scores = el("dl", "result-scores");
    for (const [name, score] of Object.entries(p.scores)) {
      const row = el("div", "score");
      const dd = el("dd");
      const meter = el("progress");
      meter.max = 1; meter.value = score;
      dd.append(meter, el("span", "", percent(score)));
      row.append(el("dt", "", name), dd);
      scores.append(row);
    }
    body.append(label);
    if (p.nearest_imagenet_kind) {
      const kind = p.nearest_imagenet_kind;
      body.append(el("p", "result-imagenet-kind",
                     "Nearest of ImageNet's 1,000 kinds: " + kind.name + " (" + percent(kind.probability) + ")"));
    }
    body.append(confidence, scores, feedbackForm(p, file, context));
  }

  function summary(p) {
    return p.error ? p.filename + ": " + p.error.message
      : p.filename + ": " + p.label + ", " + percent(p.confidence) + " sure.";
  }

  async function classify(files) {
    files = Array.from(files).filter((f) => f.size > 0 || f.name);
    if (!files.length) return;
    status.textContent = "";
    announce.textContent = "Classifying " + files.length + (files.length === 1 ? " photo..." : " photos...");
    const pending = files.map(pendingCard);
    results.prepend(...pending);
    const body = new FormData();
    files.forEach((f, i) => body.append("image", f, f.name || "pasted-" + (i + 1) + ".png"));
    button.disabled = true;
    try {
      const response = await fetch(API, { method: "POST", body: body });
      const answer = await response.json().catch(() => null);
      if (answer && Array.isArray(answer.predictions)) {
        const context = { version: answer.model.version, requestId: response.headers.get("X-Request-ID") || "" };
        answer.predictions.forEach((p, i) => pending[i] && fillCard(pending[i], p, files[i], context));
        announce.textContent = answer.predictions.map(summary).join(" ");
        if (answer.error) status.textContent = answer.error.message;
      } else {
        const message = answer && answer.error ? answer.error.message
          : "The server could not answer (HTTP " + response.status + "). Please try again.";
        pending.forEach((c) => c.remove());
        status.textContent = message;
        announce.textContent = "";
      }
    } catch (error) {
      pending.forEach((c) => c.remove());
      status.textContent = "Could not reach the server. Check your connection and try again.";
      announce.textContent = "";
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    classify(input.files);
  });
  input.addEventListener("change", () => classify(input.files));

  ["dragenter", "dragover"].forEach((type) => dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("is-over");
  }));
  ["dragleave", "drop"].forEach((type) => dropzone.addEventListener(type, () => dropzone.classList.remove("is-over")));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    classify(event.dataTransfer.files);
  });
  document.addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData ? event.clipboardData.files : []);
    if (files.length) classify(files);
  });
})();
