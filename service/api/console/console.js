// The finetune-manager web console: plain JS over the public /v1 API, no build step.
// Views are chosen by the URL hash (#/datasets, #/jobs/job_…, …). Every request sends the
// pasted key as a bearer token; the key lives in sessionStorage (this tab only).
"use strict";

(() => {
  const KEY_STORAGE = "ftm.apiKey";
  // The API lists only fine-tuned models, not the base ones: this is a starting suggestion.
  const DEFAULT_MODEL = "gpt-4o-mini-2024-07-18";
  const TERMINAL_JOB = ["succeeded", "failed", "cancelled"];
  const ACTIVE_EVALUATION = ["queued", "running"];
  let apiKey = sessionStorage.getItem(KEY_STORAGE) || "";
  // Aborted when the user leaves a view: ends its open streams (a browser keeps only a few
  // connections per host).
  let leaving = new AbortController();

  // ---------- DOM and formatting helpers ----------
  const $ = (selector) => document.querySelector(selector);

  // h("a", {href: "#/x", onclick: fn}, "text", child…): an element; text is never parsed as HTML.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child == null || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  const enc = encodeURIComponent;
  const dash = (value) => (value == null || value === "" ? "—" : value);
  const num = (value, digits = 3) => (value == null ? "—" : Number(value).toFixed(digits));
  const pct = (value) => (value == null ? "—" : `${(100 * value).toFixed(1)} %`);
  const usd = (value) => (value == null ? "—" : `$${Number(value).toFixed(4)}`);
  const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "—");
  const link = (href, text) => h("a", {href}, text);
  const badge = (status) => h("span", {class: `badge status-${status}`}, status);

  function bytes(n) {
    if (n == null) return "—";
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  }

  // A definition list of [label, value] pairs, skipping empty values.
  function facts(pairs, attrs) {
    const items = pairs.filter(([, value]) => value != null && value !== "" && value !== false);
    return h("dl", {class: "facts", ...attrs},
      items.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
  }

  function table(caption, headers, rows, attrs) {
    return h("table", attrs,
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", {scope: "col"}, name)))),
      h("tbody", {}, rows.map((cells) =>
        h("tr", {}, cells.map((cell) => h("td", {}, dash(cell)))))));
  }

  function field(label, input, hint) {
    return h("div", {class: "field"}, h("label", {for: input.id}, label), input,
      hint ? h("small", {}, hint) : null);
  }

  function options(items, selected) {
    return items.map(([value, text]) => h("option", {value, selected: value === selected}, text));
  }

  // ---------- messages ----------
  class ApiError extends Error {
    constructor(status, code, message, errors) {
      super(message);
      Object.assign(this, {status, code, errors: errors || []});
    }
  }

  function showError(error) {
    const box = $("#error");
    box.replaceChildren();
    box.hidden = !error;
    if (!error) return;
    const text = error instanceof ApiError ? error.message : `The request failed: ${error.message}`;
    box.append(h("strong", {}, "Error: "), h("span", {class: "detail"}, text));
    if (error.code) box.append(" ", h("code", {}, error.code));
    if (error.errors && error.errors.length) {
      box.append(h("ul", {}, error.errors.map((e) => h("li", {}, `${e.field}: ${e.message}`))));
    }
    box.append(h("button", {type: "button", class: "dismiss", onclick: () => showError(null)},
      "Dismiss"));
  }

  const report = (error) => { if (error.name !== "AbortError") showError(error); };
  const notice = (text) => { $("#notice").textContent = text || ""; };

  // ---------- the API ----------
  // problem+json carries `detail`; the OpenAI-compatible routes carry {error: {message, code}}.
  async function problemOf(response) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    const inner = body && typeof body.error === "object" ? body.error : null;
    const message = (inner && inner.message) || (body && body.detail)
      || `${response.status} ${response.statusText}`;
    const code = (inner && inner.code) || (body && body.code) || null;
    return new ApiError(response.status, code, message, body && body.errors);
  }

  async function request(path, {method = "GET", json, form, signal, key = apiKey, accept} = {}) {
    const headers = {Authorization: `Bearer ${key}`, Accept: accept || "application/json"};
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form) {
      body = form; // the browser sets multipart/form-data with its boundary
    }
    const response = await fetch(path, {method, headers, body, signal});
    if (!response.ok) throw await problemOf(response);
    return response;
  }

  const api = async (path, options) => (await request(path, options)).json();

  // Server-sent events from a fetch body (EventSource cannot send the Authorization header).
  async function* sseFrames(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) return;
        buffer += value;
        const held = buffer.endsWith("\r") ? "\r" : ""; // may be the first half of \r\n
        buffer = buffer.slice(0, buffer.length - held.length).replace(/\r\n?/g, "\n");
        const frames = buffer.split("\n\n");
        buffer = frames.pop() + held;
        for (const text of frames) {
          const frame = parseFrame(text);
          if (frame) yield frame;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  function parseFrame(text) {
    const frame = {id: null, event: "message", data: []};
    for (const line of text.split("\n")) {
      if (!line || line.startsWith(":")) continue; // a comment: the heartbeat
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "data") frame.data.push(value);
      else if (name === "event") frame.event = value;
      else if (name === "id") frame.id = value;
    }
    return frame.data.length ? {...frame, data: frame.data.join("\n")} : null;
  }

  // ---------- page plumbing ----------
  // A form's submit: no navigation, its submit buttons disabled while it runs, errors shown.
  function onSubmit(form, action) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const buttons = [...form.querySelectorAll("button[type=submit]")];
      buttons.forEach((b) => { b.disabled = true; });
      showError(null);
      try { await action(event.submitter); } catch (error) { report(error); } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }

  function onClick(button, action) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      showError(null);
      try { await action(); } catch (error) { report(error); } finally { button.disabled = false; }
    });
  }

  // Calls check() every `ms` while it answers true and `section` is still on the page.
  function poll(section, check, ms = 2000) {
    const tick = async () => {
      if (!section.isConnected) return;
      let again = false;
      try { again = await check(); } catch (error) { report(error); }
      if (again && section.isConnected) setTimeout(tick, ms);
    };
    setTimeout(tick, ms);
  }

  // A list route as a table with "Load more"; load(true) starts again from the newest.
  function pagedTable(caption, path, columns, attrs) {
    const body = h("tbody");
    const more = h("button", {type: "button", hidden: true}, "Load more");
    const empty = h("p", {hidden: true}, "Nothing here yet.");
    let last = null;
    async function load(reset) {
      const after = reset || !last ? "" : `${path.includes("?") ? "&" : "?"}after=${enc(last)}`;
      const page = await api(path + after);
      if (reset) body.replaceChildren();
      for (const item of page.data) {
        body.append(h("tr", {"data-id": item.id},
          columns.map(([, cell]) => h("td", {}, dash(cell(item))))));
      }
      last = page.last_id;
      more.hidden = !page.has_more;
      empty.hidden = body.children.length > 0;
      return page;
    }
    onClick(more, () => load(false));
    const el = h("div", {},
      h("table", attrs, h("caption", {}, caption),
        h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", {scope: "col"}, name)))), body),
      empty, more);
    return {el, load};
  }

  // Polls a list while any of its first page is still changing.
  function watchList(section, list, busy) {
    let watching = false;
    return async () => {
      const page = await list.load(true);
      if (watching || !page.data.some(busy)) return;
      watching = true;
      poll(section, async () => {
        watching = (await list.load(true)).data.some(busy);
        return watching;
      });
    };
  }

  async function readyDatasets() {
    const page = await api("/v1/datasets?limit=100");
    return page.data.filter((d) => d.status === "ready" && d.format !== "csv")
      .map((d) => [d.id, `${d.name} (${d.id}, ${d.format}, ${d.rows} rows)`]);
  }

  // ---------- datasets ----------
  async function datasetsView(root) {
    const file = h("input", {id: "upload-file", type: "file", required: true,
      accept: ".jsonl,.json,.csv,.txt"});
    const name = h("input", {id: "upload-name", type: "text"});
    const format = h("select", {id: "upload-format"}, options(
      ["auto", "chat", "prompt_completion", "preference", "csv"].map((f) => [f, f]), "auto"));
    const form = h("form", {"aria-labelledby": "upload-title", class: "panel"},
      h("h3", {id: "upload-title"}, "Upload a dataset"),
      field("File (JSONL or CSV)", file), field("Name", name, "optional; the file name by default"),
      field("Format", format), h("button", {type: "submit"}, "Upload"));
    const list = pagedTable("Datasets, newest first", "/v1/datasets", [
      ["Name", (d) => link(`#/datasets/${enc(d.id)}`, d.name)],
      ["ID", (d) => h("code", {}, d.id)],
      ["Format", (d) => d.format],
      ["Status", (d) => badge(d.status)],
      ["Rows", (d) => d.rows],
      ["Size", (d) => bytes(d.bytes)],
      ["Created", (d) => when(d.created_at)],
    ], {id: "datasets-table"});
    const refresh = watchList(root, list, (d) => d.status === "processing");
    onSubmit(form, async () => {
      const data = new FormData();
      data.append("file", file.files[0]);
      if (name.value.trim()) data.append("name", name.value.trim());
      data.append("format", format.value);
      const dataset = await api("/v1/datasets", {method: "POST", form: data});
      notice(`Uploaded ${dataset.name} as ${dataset.id}: ${dataset.status}.`);
      form.reset();
      await refresh();
    });
    root.append(h("h2", {}, "Datasets"), form, list.el);
    await refresh();
  }

  async function datasetView(root, id) {
    const path = `/v1/datasets/${enc(id)}`;
    let dataset = await api(path);
    const about = h("div");
    const model = h("input", {id: "report-model", type: "text", placeholder: "the default model"});
    const reportForm = h("form", {class: "inline", "aria-label": "Report options"},
      field("Model (tokenizer, context limit, price)", model),
      h("button", {type: "submit"}, "Show report"));
    const reportBox = h("section", {id: "report", "aria-labelledby": "report-title"});
    const remove = h("button", {type: "button", class: "danger"}, "Delete dataset");
    const show = () => {
      const d = dataset;
      about.replaceChildren(facts([
        ["ID", h("code", {}, d.id)], ["File", d.filename], ["Format", d.format],
        ["Status", badge(d.status)], ["Rows", d.rows], ["Size", bytes(d.bytes)],
        ["SHA-256", h("code", {}, d.sha256)],
        ["Parent", d.parent_id && link(`#/datasets/${enc(d.parent_id)}`, d.parent_id)],
        ["Derived by", d.derived_by], ["Created", when(d.created_at)], ["Problem", d.error],
      ], {id: "dataset-facts"}),
      d.columns ? table("Columns", ["Column", "Distinct", "Empty", "Samples"],
        d.columns.map((c) => [c.name, c.distinct, c.empty, c.samples.join(" · ")])) : "");
    };
    const loadReport = async () => {
      const query = model.value.trim() ? `?model=${enc(model.value.trim())}` : "";
      renderReport(reportBox, await api(`${path}/report${query}`));
    };
    onSubmit(reportForm, loadReport);
    onClick(remove, async () => {
      if (!window.confirm(`Delete dataset ${dataset.name} (${dataset.id})?`)) return;
      await api(path, {method: "DELETE"});
      notice(`Deleted dataset ${dataset.id}.`);
      location.hash = "#/datasets";
    });
    show();
    root.append(h("p", {}, link("#/datasets", "← All datasets")),
      h("h2", {}, `Dataset ${dataset.name}`), about,
      h("p", {class: "actions"}, dataset.format === "csv" ? "" :
        link(`#/jobs?training=${enc(dataset.id)}`, "Fine-tune on this dataset"), " ", remove));
    if (dataset.format === "csv") {
      root.append(h("p", {}, "A CSV dataset has no training report: convert it to chat first."));
      return;
    }
    root.append(reportForm, reportBox);
    if (dataset.status !== "processing") return loadReport();
    reportBox.replaceChildren(h("p", {}, "Validating… the report appears when it is done."));
    poll(root, async () => {
      dataset = await api(path);
      show();
      if (dataset.status === "processing") return true;
      await loadReport();
      return false;
    });
  }

  function renderReport(box, r) {
    const issues = (title, id, {counts, samples}) => {
      const found = Object.entries(counts).filter(([, n]) => n > 0);
      return h("section", {id, "aria-label": title}, h("h4", {}, title),
        found.length
          ? h("ul", {}, found.map(([code, n]) => h("li", {}, h("code", {}, code), `: ${n}`)))
          : h("p", {}, "None."),
        samples.length ? table(`${title}: examples`, ["Line", "Code", "Message"],
          samples.map((s) => [s.line, h("code", {}, s.code), s.message])) : "");
    };
    const stats = ["min", "max", "mean", "median", "p5", "p95", "sum"];
    const row = (label, s) => [label, ...stats.map((k) => s[k])];
    const e = r.estimate;
    box.replaceChildren(
      h("h3", {id: "report-title"}, "Report"),
      facts([["Model", r.model], ["Encoding", r.encoding], ["Examples", r.examples],
        ["Valid examples", r.valid_examples]], {id: "report-summary"}),
      issues("Errors", "report-errors", r.errors),
      issues("Warnings", "report-warnings", r.warnings),
      table("Tokens per example", ["Measure", ...stats], [
        row("All messages", r.tokens.total), row("Assistant", r.tokens.assistant),
        row("Messages per example", r.tokens.messages_per_example)], {id: "report-tokens"}),
      r.tokens.histogram.length ? table("Examples by total tokens", ["Up to tokens", "Examples"],
        r.tokens.histogram.map((b) => [b.le, b.count])) : "",
      r.labels ? table(`Labels (${r.labels.distinct} distinct)`, ["Label", "Examples"],
        Object.entries(r.labels.counts)) : "",
      h("h4", {}, "Cost estimate"),
      facts([["Epochs", e.n_epochs], ["Tokens per epoch", e.tokens_per_epoch],
        ["Trained (billed) tokens", e.trained_tokens],
        ["Price per million tokens", usd(e.price_per_million_usd)], ["Cost", usd(e.cost_usd)]],
      {id: "report-estimate"}));
  }

  // ---------- jobs ----------
  async function jobsView(root, query) {
    const params = new URLSearchParams(query || "");
    const datasets = await readyDatasets();
    const training = h("select", {id: "job-training", required: true},
      options(datasets, params.get("training")));
    const validation = h("select", {id: "job-validation"},
      options([["", "(none)"], ...datasets], ""));
    const model = h("input", {id: "job-model", type: "text", required: true, value: DEFAULT_MODEL});
    const suffix = h("input", {id: "job-suffix", type: "text", maxlength: 64,
      pattern: "[A-Za-z0-9_.\\-]*"});
    const epochs = h("input", {id: "job-epochs", type: "number", min: 1, max: 50,
      placeholder: "auto"});
    const estimate = h("div", {id: "job-estimate", role: "status"});
    const form = h("form", {class: "panel", "aria-labelledby": "job-form-title"},
      h("h3", {id: "job-form-title"}, "Create a job"),
      datasets.length ? "" : h("p", {}, "No ready dataset yet: upload one first."),
      field("Training dataset", training), field("Validation dataset", validation),
      field("Base model", model), field("Suffix", suffix, "letters, digits, - _ . (≤ 64)"),
      field("Epochs", epochs, "empty for auto"),
      h("button", {type: "submit", value: "dry"}, "Estimate cost"), " ",
      h("button", {type: "submit", value: "create"}, "Create job"), estimate);
    onSubmit(form, async (submitter) => {
      const body = {model: model.value.trim(), training_dataset: training.value};
      if (validation.value) body.validation_dataset = validation.value;
      if (suffix.value.trim()) body.suffix = suffix.value.trim();
      if (epochs.value) body.hyperparameters = {n_epochs: Number(epochs.value)};
      if (submitter && submitter.value === "dry") {
        const dry = await api("/v1/jobs", {method: "POST", json: {...body, dry_run: true}});
        estimate.replaceChildren(facts([["Epochs", dry.estimate.n_epochs],
          ["Billed tokens", dry.estimate.billing_tokens], ["Cost", usd(dry.estimate.cost_usd)]]));
        return;
      }
      const job = await api("/v1/jobs", {method: "POST", json: body});
      location.hash = `#/jobs/${enc(job.id)}`;
    });
    const list = pagedTable("Jobs, newest first", "/v1/jobs", [
      ["ID", (j) => link(`#/jobs/${enc(j.id)}`, j.id)],
      ["Status", (j) => badge(j.status)],
      ["Model", (j) => j.model],
      ["Suffix", (j) => j.suffix],
      ["Progress", (j) => (j.progress.percent == null ? null : `${j.progress.percent} %`)],
      ["Fine-tuned model", (j) => j.fine_tuned_model && h("code", {}, j.fine_tuned_model)],
      ["Created", (j) => when(j.created_at)],
    ], {id: "jobs-table"});
    root.append(h("h2", {}, "Jobs"), form, list.el);
    await watchList(root, list, (j) => !TERMINAL_JOB.includes(j.status))();
  }

  async function jobView(root, id) {
    const {signal} = leaving;
    const path = `/v1/jobs/${enc(id)}`;
    let job = await api(path);
    const about = h("div");
    const bar = h("progress", {id: "job-progress", max: 100, "aria-label": "Training progress"});
    const cancel = h("button", {type: "button", class: "danger"}, "Cancel job");
    const canvas = h("canvas", {id: "loss-chart", width: 720, height: 280, role: "img",
      "aria-label": "Loss by step: no values yet"});
    const chartNote = h("p", {id: "loss-summary"}, "No loss values yet.");
    const streamState = h("p", {id: "stream-state", role: "status"}, "Connecting to events…");
    const log = h("ol", {id: "job-events", class: "events", tabindex: 0, "aria-label": "Events"});
    const show = () => {
      const p = job.progress;
      const e = job.estimate;
      about.replaceChildren(facts([
        ["Status", badge(job.status)], ["Waiting because", job.pending_reason],
        ["Model", job.model],
        ["Training dataset", link(`#/datasets/${enc(job.training_dataset)}`, job.training_dataset)],
        ["Validation dataset", job.validation_dataset
          && link(`#/datasets/${enc(job.validation_dataset)}`, job.validation_dataset)],
        ["Suffix", job.suffix], ["Method", job.method.type],
        ["Step", p.step == null ? null : `${p.step} of ${dash(p.total_steps)}`],
        ["Train loss", p.train_loss == null ? null : num(p.train_loss)],
        ["Validation loss", p.valid_loss == null ? null : num(p.valid_loss)],
        ["Fine-tuned model", job.fine_tuned_model && h("code", {}, job.fine_tuned_model)],
        ["Estimate", e && `${usd(e.cost_usd)}, ${e.billing_tokens} tokens, ${e.n_epochs} epochs`],
        ["Trained tokens", job.trained_tokens],
        ["Cost", job.cost_usd == null ? null : usd(job.cost_usd)],
        ["Provider job", job.provider.job_id],
        ["Error", job.error && `${job.error.message} (${dash(job.error.code)})`],
        ["Created", when(job.created_at)], ["Finished", job.finished_at && when(job.finished_at)],
        ["Estimated finish", !job.finished_at && job.estimated_finish
          && when(job.estimated_finish)],
      ], {id: "job-facts"}));
      if (p.percent == null) bar.removeAttribute("value"); else bar.value = p.percent;
      cancel.hidden = TERMINAL_JOB.includes(job.status);
    };
    const refresh = async () => { job = await api(path); show(); };
    // The loss curve by step: the metrics route at the start and the end, the stream's
    // metrics events in between.
    const steps = new Map();
    const merge = (rows) => rows.forEach((row) => {
      const known = steps.get(row.step) || {};
      for (const [name, value] of Object.entries(row)) if (value != null) known[name] = value;
      steps.set(row.step, known);
    });
    const draw = async () => drawLoss(canvas, chartNote,
      [...steps.values()].sort((a, b) => a.step - b.step));
    const redraw = async () => { merge((await api(`${path}/metrics`)).data); draw(); };
    const later = (action, ms) => { // at most one call per `ms`
      let timer = null;
      return () => {
        if (timer) return;
        timer = setTimeout(() => { timer = null; action().catch(report); }, ms);
      };
    };
    const refreshSoon = later(refresh, 2000);
    const drawSoon = later(draw, 500);
    onClick(cancel, async () => {
      if (!window.confirm(`Cancel job ${job.id}?`)) return;
      job = await api(`${path}/cancel`, {method: "POST"});
      show();
    });
    show();
    root.append(h("p", {}, link("#/jobs", "← All jobs")), h("h2", {}, `Job ${job.id}`), about,
      h("p", {}, h("label", {for: "job-progress"}, "Progress "), bar, " ", cancel),
      h("h3", {}, "Loss"), canvas, chartNote, h("h3", {}, "Events"), streamState, log);
    await redraw();

    let lastId = null;
    const follow = async () => {
      const after = lastId ? `?after=${enc(lastId)}` : "";
      const response = await request(`${path}/events/stream${after}`,
        {signal, accept: "text/event-stream"});
      streamState.textContent = "Following events live.";
      for await (const frame of sseFrames(response.body)) {
        if (frame.event === "end") {
          await refresh();
          await redraw();
          streamState.textContent = `The job ended: ${JSON.parse(frame.data).status}.`;
          return true;
        }
        lastId = frame.id || lastId;
        const event = JSON.parse(frame.data);
        if (event.type === "metrics") {
          if (typeof event.data.step === "number") merge([event.data]);
          drawSoon();
          refreshSoon();
          continue;
        }
        log.append(h("li", {class: `level-${event.level}`},
          h("time", {}, when(event.created_at)), ` ${event.type}: ${event.message}`));
        log.scrollTop = log.scrollHeight;
        if (event.type === "status") refreshSoon();
      }
      return false; // closed without an end: reconnect from the last event
    };
    (async () => {
      while (!signal.aborted) {
        try {
          if (await follow()) return;
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof ApiError) { report(error); return; }
          streamState.textContent = "The event stream broke off; reconnecting…";
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    })();
  }

  // A line per series (train, validation) over the steps, with y-axis ticks and a legend.
  function drawLoss(canvas, note, rows) {
    const lines = [["train_loss", "#1d4ed8", "train loss"],
      ["valid_loss", "#c2410c", "validation loss"]];
    const series = lines.map(([key, color, label]) => ({key, color, label,
        points: rows.filter((r) => r[key] != null).map((r) => [r.step, r[key]])}))
      .filter((s) => s.points.length);
    const g = canvas.getContext("2d");
    const {width, height} = canvas;
    g.clearRect(0, 0, width, height);
    canvas.dataset.points = String(series.reduce((n, s) => n + s.points.length, 0));
    if (!series.length) return;
    const all = series.flatMap((s) => s.points);
    const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
    const [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
    const left = 56, right = 16, top = 16, bottom = 32;
    const x = (v) => left + (x1 === x0 ? 0.5 : (v - x0) / (x1 - x0)) * (width - left - right);
    const y = (v) => top + (y1 === y0 ? 0.5 : 1 - (v - y0) / (y1 - y0)) * (height - top - bottom);
    g.font = "12px sans-serif";
    g.fillStyle = "#374151";
    g.strokeStyle = "#d1d5db";
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i += 1) {
      const v = y0 + ((y1 - y0) * i) / 4;
      g.beginPath(); g.moveTo(left, y(v)); g.lineTo(width - right, y(v)); g.stroke();
      g.fillText(v.toFixed(3), 4, y(v) + 4);
    }
    g.fillText(`step ${x0}`, left, height - 10);
    g.fillText(`step ${x1}`, width - right - 60, height - 10);
    series.forEach((s, i) => {
      g.strokeStyle = s.color;
      g.lineWidth = 2;
      g.beginPath();
      s.points.forEach(([px, py], j) => (j ? g.lineTo(x(px), y(py)) : g.moveTo(x(px), y(py))));
      g.stroke();
      g.fillStyle = s.color;
      g.fillText(`— ${s.label}`, width - right - 130, top + 14 * (i + 1));
    });
    const text = series.map((s) => `${s.label} ${num(s.points[0][1])} → ${num(s.points.at(-1)[1])}`)
      .join("; ");
    note.textContent = `${rows.length} steps; ${text}.`;
    canvas.setAttribute("aria-label", `Loss by step: ${text}`);
  }

  // ---------- evaluations ----------
  async function evaluationsView(root) {
    const datasets = await readyDatasets();
    const jobs = (await api("/v1/jobs?status=succeeded&limit=100")).data
      .filter((j) => j.fine_tuned_model).map((j) => [j.id, `${j.id} (${j.fine_tuned_model})`]);
    const dataset = h("select", {id: "eval-dataset", required: true}, options(datasets));
    const job = h("select", {id: "eval-job"},
      options([["", "(none: use the models below)"], ...jobs]));
    const models = h("input", {id: "eval-models", type: "text"});
    const maxExamples = h("input", {id: "eval-max-examples", type: "number", min: 1});
    const maxTokens = h("input", {id: "eval-max-tokens", type: "number", min: 1, value: 20});
    const form = h("form", {class: "panel", "aria-labelledby": "eval-form-title"},
      h("h3", {id: "eval-form-title"}, "Evaluate"),
      field("Test dataset", dataset),
      field("Job", job, "compares its fine-tuned model with its base model"),
      field("Or models", models, "comma-separated, first is compared with second"),
      field("Max examples", maxExamples, "empty for all"),
      field("Max tokens per answer", maxTokens),
      h("button", {type: "submit"}, "Start evaluation"));
    onSubmit(form, async () => {
      const body = {dataset: dataset.value};
      if (job.value) body.job = job.value;
      else body.models = models.value.split(",").map((m) => m.trim()).filter(Boolean);
      if (maxExamples.value) body.max_examples = Number(maxExamples.value);
      if (maxTokens.value) body.max_tokens = Number(maxTokens.value);
      const evaluation = await api("/v1/evaluations", {method: "POST", json: body});
      location.hash = `#/evaluations/${enc(evaluation.id)}`;
    });
    const list = pagedTable("Evaluations, newest first", "/v1/evaluations", [
      ["ID", (e) => link(`#/evaluations/${enc(e.id)}`, e.id)],
      ["Status", (e) => badge(e.status)],
      ["Dataset", (e) => e.dataset],
      ["Models", (e) => e.models.join(", ")],
      ["Progress", (e) => `${e.progress.done} / ${dash(e.progress.total)}`],
      ["Created", (e) => when(e.created_at)],
    ], {id: "evaluations-table"});
    root.append(h("h2", {}, "Evaluations"), form, list.el);
    await watchList(root, list, (e) => ACTIVE_EVALUATION.includes(e.status))();
  }

  async function evaluationView(root, id) {
    const path = `/v1/evaluations/${enc(id)}`;
    const body = h("div");
    const cancel = h("button", {type: "button", class: "danger"}, "Cancel evaluation");
    let evaluation;
    const show = () => {
      const e = evaluation;
      const results = Object.entries(e.results || {});
      const c = e.comparison;
      cancel.hidden = !ACTIVE_EVALUATION.includes(e.status);
      body.replaceChildren(
        facts([["Status", badge(e.status)],
          ["Dataset", link(`#/datasets/${enc(e.dataset)}`, e.dataset)],
          ["Job", e.job && link(`#/jobs/${enc(e.job)}`, e.job)], ["Scoring", e.scoring],
          ["Mode", e.mode], ["Progress", `${e.progress.done} of ${dash(e.progress.total)} answers`],
          ["Skipped examples", e.skipped_examples], ["Error", e.error && e.error.message]],
        {id: "evaluation-facts"}),
        results.length ? table("Results per model", ["Model", "Accuracy", "Macro-F1", "MCC",
          "Invalid outputs", "Mean latency (ms)", "Prompt / completion tokens", "Cost"],
        results.map(([model, r]) => [h("code", {}, model), pct(r.accuracy), num(r.macro_f1),
          num(r.mcc), r.invalid_outputs, num(r.mean_latency_ms, 0),
          `${r.prompt_tokens} / ${r.completion_tokens}`, usd(r.cost_usd)]),
        {id: "evaluation-results"}) : h("p", {}, "No results yet."),
        c ? h("section", {id: "evaluation-comparison", "aria-label": "Comparison"},
          h("h3", {}, "Comparison"),
          facts([["Best model", h("code", {}, c.best_model)],
            ["Accuracy, first minus second", pct(c.accuracy_delta)],
            ["McNemar p-value", num(c.mcnemar_p, 4)],
            ["Fixed (first right, second wrong)", c.flips.fixed],
            ["Broken (first wrong, second right)", c.flips.broken]])) : "",
        results.map(([model, r]) => h("details", {},
          h("summary", {}, `Per label: ${model}`),
          table(`Per label: ${model}`, ["Label", "Precision", "Recall", "F1", "Support"],
            Object.entries(r.per_label).map(([label, s]) =>
              [label, num(s.precision), num(s.recall), num(s.f1), s.support])))));
    };
    const refresh = async () => { evaluation = await api(path); show(); };
    onClick(cancel, async () => {
      evaluation = await api(`${path}/cancel`, {method: "POST"});
      show();
    });
    await refresh();
    root.append(h("p", {}, link("#/evaluations", "← All evaluations")),
      h("h2", {}, `Evaluation ${id}`), h("p", {}, cancel), body);
    if (ACTIVE_EVALUATION.includes(evaluation.status)) {
      poll(root, async () => {
        await refresh();
        return ACTIVE_EVALUATION.includes(evaluation.status);
      });
    }
  }

  // ---------- models ----------
  async function modelsView(root) {
    const box = h("div");
    const load = async () => {
      const models = (await api("/v1/models")).data;
      box.replaceChildren(models.length ? h("table", {id: "models-table"},
        h("caption", {}, "Fine-tuned models of this project"),
        h("thead", {}, h("tr", {}, ["Model", "Base model", "Job", "Created", "Actions"]
          .map((name) => h("th", {scope: "col"}, name)))),
        h("tbody", {}, models.map((m) => {
          const remove = h("button", {type: "button", class: "danger",
            "aria-label": `Delete ${m.id}`}, "Delete");
          onClick(remove, async () => {
            if (!window.confirm(`Delete model ${m.id} on the provider? It cannot be undone.`)) {
              return;
            }
            await api(`/v1/models/${enc(m.id)}`, {method: "DELETE"});
            notice(`Deleted ${m.id}.`);
            await load();
          });
          return h("tr", {"data-id": m.id}, h("td", {}, h("code", {}, m.id)),
            h("td", {}, dash(m.base_model)),
            h("td", {}, m.job_id ? link(`#/jobs/${enc(m.job_id)}`, m.job_id) : "—"),
            h("td", {}, when(m.created)),
            h("td", {}, link(`#/playground?model=${enc(m.id)}`, "Chat"), " ", remove));
        }))) : h("p", {}, "No fine-tuned models yet."));
    };
    root.append(h("h2", {}, "Models"), box);
    await load();
  }

  // ---------- playground ----------
  async function playgroundView(root, query) {
    const {signal} = leaving;
    const params = new URLSearchParams(query || "");
    const tuned = (await api("/v1/models")).data.map((m) => m.id);
    const model = h("input", {id: "chat-model", type: "text", required: true, list: "chat-models",
      value: params.get("model") || tuned[0] || DEFAULT_MODEL});
    const system = h("textarea", {id: "chat-system", rows: 2});
    const message = h("textarea", {id: "chat-message", rows: 3, required: true});
    const transcript = h("div", {id: "chat-transcript", role: "log", "aria-live": "polite",
      "aria-label": "Conversation"});
    const stop = h("button", {type: "button", disabled: true}, "Stop");
    const clear = h("button", {type: "button"}, "Clear conversation");
    const form = h("form", {class: "panel", "aria-label": "Chat"},
      h("datalist", {id: "chat-models"}, options([...tuned, DEFAULT_MODEL].map((m) => [m, m]))),
      field("Model", model), field("System message", system, "optional"), transcript,
      field("Message", message, "Ctrl+Enter sends"),
      h("button", {type: "submit"}, "Send"), " ", stop, " ", clear);
    let history = [];
    let controller = null;
    const bubble = (role, text) => {
      const el = h("div", {class: `message ${role}`}, h("strong", {}, `${role}: `),
        h("span", {class: "content"}, text));
      transcript.append(el);
      return el.querySelector(".content");
    };
    message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    stop.addEventListener("click", () => controller && controller.abort());
    signal.addEventListener("abort", () => controller && controller.abort());
    clear.addEventListener("click", () => { history = []; transcript.replaceChildren(); });
    onSubmit(form, async () => {
      const text = message.value.trim();
      if (!text) return;
      history.push({role: "user", content: text});
      bubble("user", text);
      message.value = "";
      const answer = bubble("assistant", "");
      answer.parentElement.setAttribute("aria-busy", "true");
      const messages = system.value.trim()
        ? [{role: "system", content: system.value.trim()}, ...history] : history;
      controller = new AbortController();
      stop.disabled = false;
      let reply = "";
      try {
        const response = await request("/v1/chat/completions", {method: "POST",
          json: {model: model.value.trim(), messages, stream: true},
          signal: controller.signal, accept: "text/event-stream"});
        for await (const frame of sseFrames(response.body)) {
          if (frame.data === "[DONE]") break;
          const chunk = JSON.parse(frame.data);
          if (chunk.error) throw new ApiError(0, chunk.error.code, chunk.error.message);
          const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
          if (delta && delta.content) { reply += delta.content; answer.textContent = reply; }
        }
        history.push({role: "assistant", content: reply});
      } catch (error) {
        if (error.name === "AbortError" && reply) {
          history.push({role: "assistant", content: reply});
        } else {
          history.pop(); // the question was not answered: leave it out of the next request
          answer.textContent = reply ? `${reply} [broken off]` : "[no answer]";
          throw error;
        }
      } finally {
        answer.parentElement.removeAttribute("aria-busy");
        stop.disabled = true;
        controller = null;
      }
    });
    root.append(h("h2", {}, "Playground"), form);
  }

  // ---------- routing and the key ----------
  const ROUTES = [
    [/^#\/datasets\/([^/?]+)$/, datasetView],
    [/^#\/jobs\/([^/?]+)$/, jobView],
    [/^#\/evaluations\/([^/?]+)$/, evaluationView],
    [/^#\/datasets$/, datasetsView],
    [/^#\/jobs(?:\?(.*))?$/, jobsView],
    [/^#\/evaluations$/, evaluationsView],
    [/^#\/models$/, modelsView],
    [/^#\/playground(?:\?(.*))?$/, playgroundView],
  ];

  async function render() {
    const hash = location.hash || "#/datasets";
    leaving.abort();
    leaving = new AbortController();
    showError(null);
    const area = hash.split(/[/?]/)[1]; // "jobs" for #/jobs/job_1 and #/jobs?training=…
    for (const a of document.querySelectorAll("nav a")) {
      if (a.getAttribute("href") === `#/${area}`) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    // A fresh element per view: what an earlier view still does lands on a detached one.
    const root = h("section");
    $("#view").replaceChildren(root);
    if (!apiKey) {
      root.append(h("p", {}, "Paste an API key above to start."));
      return;
    }
    const route = ROUTES.find(([pattern]) => pattern.test(hash));
    if (!route) {
      root.append(h("p", {}, "No such page. "), link("#/datasets", "Go to the datasets."));
      return;
    }
    const args = hash.match(route[0]).slice(1).map((part) => part && decodeURIComponent(part));
    try { await route[1](root, ...args); } catch (error) { report(error); }
  }

  function showKey() {
    $("#key-state").textContent = apiKey ? "Key in use for this tab." : "No key yet.";
    $("#key-forget").hidden = !apiKey;
  }

  function start() {
    const form = $("#key-form");
    onSubmit(form, async () => {
      const key = $("#key-input").value.trim();
      if (!key) throw new ApiError(0, null, "Paste an API key first.");
      await api("/v1/datasets?limit=1", {key}); // answers 401 for a wrong key
      apiKey = key;
      sessionStorage.setItem(KEY_STORAGE, key);
      $("#key-input").value = "";
      showKey();
      notice("Key accepted.");
      await render();
    });
    $("#key-forget").addEventListener("click", () => {
      apiKey = "";
      sessionStorage.removeItem(KEY_STORAGE);
      showKey();
      notice("Key forgotten.");
      render();
    });
    window.addEventListener("hashchange", () => {
      notice("");
      render().then(() => $("#view").focus({preventScroll: true}));
    });
    showKey();
    render();
  }

  start();
})();
