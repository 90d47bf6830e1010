// The finetune-manager web console: plain JS over the public /v1 API, no build step.
// This file holds what every view shares (elements, formatting, requests, streams, the key,
// routing); datasets.js, jobs.js, evaluations.js and playground.js add the views to FTM.routes.
// Views are chosen by the URL hash (#/datasets, #/jobs/job_…). Every request sends the pasted
// key as a bearer token; the key lives in sessionStorage and is handed to new tabs of the same
// browser over a BroadcastChannel, never put in a URL.
"use strict";

window.FTM = (() => {
  const KEY_STORAGE = "ftm.apiKey";
  // The API lists only fine-tuned models, not the base ones: this is a starting suggestion.
  const DEFAULT_MODEL = "gpt-4o-mini-2024-07-18";
  const TERMINAL_JOB = ["succeeded", "failed", "cancelled"];
  const ACTIVE_EVALUATION = ["queued", "running"];
  const state = {apiKey: sessionStorage.getItem(KEY_STORAGE) || "",
    // Aborted when the user leaves a view: ends its open streams.
    leaving: new AbortController()};

  // ---------- DOM and formatting ----------
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
  const dash = (value) => (value == null || value === "" || Number.isNaN(value) ? "—" : value);
  const isNum = (value) => typeof value === "number" && Number.isFinite(value);
  const grouped = new Intl.NumberFormat("en-US");
  const int = (value) => (isNum(value) ? grouped.format(Math.round(value)) : "—");
  const num = (value, digits = 3) => (isNum(value) ? value.toFixed(digits) : "—");
  const pct = (value, digits = 1) => (isNum(value) ? `${(100 * value).toFixed(digits)} %` : "—");
  const usd = (value) => (isNum(value) ? `$${value.toFixed(4)}` : "—");
  const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString("en-GB") : "—");
  const link = (href, text) => h("a", {href}, text);
  const badge = (status) => h("span", {class: `badge status-${status}`}, status);
  const code = (text) => h("code", {}, text);

  function bytes(n) {
    if (!isNum(n)) return "—";
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

  // A table in its own horizontal scroller, so a phone never scrolls the page sideways.
  function table(caption, headers, rows, attrs) {
    return h("div", {class: "scroll"}, h("table", attrs,
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", {scope: "col"}, name)))),
      h("tbody", {}, rows.map((cells) =>
        h("tr", {}, cells.map((cell) => h("td", {}, dash(cell))))))));
  }

  let fieldIds = 0;
  function field(label, input, hint) {
    if (!input.id) { fieldIds += 1; input.id = `field-${fieldIds}`; }
    const hintEl = hint ? h("small", {id: `${input.id}-hint`}, hint) : null;
    if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
    return h("div", {class: "field"}, h("label", {for: input.id}, label), input, hintEl);
  }

  function options(items, selected) {
    return items.map(([value, text]) => h("option", {value, selected: value === selected}, text));
  }

  // Horizontal bars: [label, value, text] each, widths relative to the largest value.
  function bars(caption, items, attrs) {
    const top = Math.max(1, ...items.map(([, value]) => value));
    return h("figure", {class: "bars", ...attrs}, h("figcaption", {}, caption),
      h("ul", {}, items.map(([label, value, text]) => {
        const bar = h("span", {class: "bar"});
        bar.style.width = `${(100 * value) / top}%`;
        return h("li", {}, h("span", {class: "bar-label"}, label),
          h("span", {class: "bar-track"}, bar), h("span", {class: "bar-value"}, text));
      })));
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
    if (error.code) box.append(" ", code(error.code));
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
  function problemOf(status, statusText, body) {
    const inner = body && typeof body.error === "object" ? body.error : null;
    const message = (inner && inner.message) || (body && body.detail) || `${status} ${statusText}`;
    const errorCode = (inner && inner.code) || (body && body.code) || null;
    return new ApiError(status, errorCode, message, body && body.errors);
  }

  async function request(path, {method = "GET", json, signal, key = state.apiKey, accept} = {}) {
    const headers = {Authorization: `Bearer ${key}`, Accept: accept || "application/json"};
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    const response = await fetch(path, {method, headers, body, signal});
    if (!response.ok) {
      let problem = null;
      try { problem = await response.json(); } catch { /* not JSON */ }
      throw problemOf(response.status, response.statusText, problem);
    }
    return response;
  }

  const api = async (path, opts) => (await request(path, opts)).json();

  // A multipart upload with progress (fetch cannot report an upload's progress).
  function upload(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("Authorization", `Bearer ${state.apiKey}`);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (event) => event.lengthComputable
        && onProgress(event.loaded / event.total);
      xhr.onerror = () => reject(new Error("the upload broke off"));
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(problemOf(xhr.status, xhr.statusText, body));
      };
      xhr.send(form);
    });
  }

  // Every item of a list route, following has_more (up to `pages` pages of 100).
  async function all(path, pages = 10) {
    const items = [];
    let after = "";
    for (let i = 0; i < pages; i += 1) {
      const joiner = path.includes("?") ? "&" : "?";
      const page = await api(`${path}${joiner}limit=100${after}`);
      items.push(...page.data);
      if (!page.has_more) break;
      after = `&after=${enc(page.last_id)}`;
    }
    return items;
  }

  // The project's datasets by id, for showing names instead of ids.
  async function datasetNames() {
    return new Map((await all("/v1/datasets")).map((d) => [d.id, d]));
  }

  // "name (id)" as a link to the dataset; the id alone when it is not known.
  function datasetLink(known, id) {
    if (!id) return null;
    const d = known.get(id);
    return h("span", {}, link(`#/datasets/${enc(id)}`, d ? d.name : id),
      d ? h("small", {class: "id"}, ` ${id}`) : null);
  }

  // A job's name: its suffix when it has one, else its id.
  const jobName = (j) => (j.suffix ? j.suffix : j.id);

  async function jobNames() {
    return new Map((await all("/v1/jobs")).map((j) => [j.id, j]));
  }

  function jobLink(known, id) {
    if (!id) return null;
    const j = known.get(id);
    return h("span", {}, link(`#/jobs/${enc(id)}`, j ? jobName(j) : id),
      j && j.suffix ? h("small", {class: "id"}, ` ${id}`) : null);
  }

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
  function poll(section, check, ms = 1500) {
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
    const el = h("div", {}, h("div", {class: "scroll"},
      h("table", attrs, h("caption", {}, caption),
        h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", {scope: "col"}, name)))), body)),
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

  // ---------- routing ----------
  const routes = [];

  async function render() {
    const hash = location.hash || "#/datasets";
    state.leaving.abort();
    state.leaving = new AbortController();
    showError(null);
    const area = hash.split(/[/?]/)[1]; // "jobs" for #/jobs/job_1 and #/jobs?training=…
    for (const a of document.querySelectorAll("nav a")) {
      if (a.getAttribute("href") === `#/${area}`) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    // A fresh element per view: what an earlier view still does lands on a detached one.
    const root = h("section");
    $("#view").replaceChildren(root);
    if (!state.apiKey) {
      root.append(h("p", {}, "Paste an API key above to start."));
      return;
    }
    const route = routes.find(([pattern]) => pattern.test(hash));
    if (!route) {
      root.append(h("p", {}, "No such page. "), link("#/datasets", "Go to the datasets."));
      return;
    }
    const args = hash.match(route[0]).slice(1).map((part) => part && decodeURIComponent(part));
    const title = hash.split(/[/?]/)[1] || "datasets";
    document.title = `${title[0].toUpperCase()}${title.slice(1)} · finetune-manager`;
    try { await route[1](root, ...args); } catch (error) { report(error); }
  }

  // ---------- the key, shared with this browser's other tabs while one of them is open ----------
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("ftm.key") : null;

  function useKey(key, announce) {
    state.apiKey = key;
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
    if (announce && channel) channel.postMessage(key ? {type: "key", key} : {type: "forget"});
    showKey();
  }

  function showKey() {
    $("#key-state").textContent = state.apiKey ? "Key in use for this session." : "No key yet.";
    $("#key-forget").hidden = !state.apiKey;
  }

  function listenForKey() {
    if (!channel) return;
    channel.onmessage = ({data}) => {
      if (data.type === "ask" && state.apiKey) channel.postMessage({type: "key", key: state.apiKey});
      else if (data.type === "key" && data.key !== state.apiKey) {
        useKey(data.key, false);
        render();
      } else if (data.type === "forget" && state.apiKey) {
        useKey("", false);
        render();
      }
    };
    if (!state.apiKey) channel.postMessage({type: "ask"});
  }

  function start() {
    const form = $("#key-form");
    onSubmit(form, async () => {
      const key = $("#key-input").value.trim();
      if (!key) throw new ApiError(0, null, "Paste an API key first.");
      await api("/v1/datasets?limit=1", {key}); // answers 401 for a wrong key
      useKey(key, true);
      $("#key-input").value = "";
      notice("Key accepted.");
      await render();
    });
    $("#key-forget").addEventListener("click", () => {
      useKey("", true);
      notice("Key forgotten.");
      render();
    });
    window.addEventListener("hashchange", () => {
      notice("");
      render().then(() => $("#view").focus({preventScroll: true}));
    });
    showKey();
    listenForKey();
    render();
  }

  document.addEventListener("DOMContentLoaded", start);

  return {DEFAULT_MODEL, TERMINAL_JOB, ACTIVE_EVALUATION, state, routes, $, h, enc, dash, isNum,
    int, num, pct, usd, when, link, badge, code, bytes, facts, table, field, options, bars,
    ApiError, showError, report, notice, request, api, upload, all, datasetNames, datasetLink,
    jobName, jobNames, jobLink,
    sseFrames, onSubmit, onClick, poll, pagedTable, watchList};
})();
