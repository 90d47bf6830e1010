// A JSONL dataset's report (errors and warnings with the offending lines, token histogram,
// label shares, cost) and its split form.
"use strict";

(() => {
  const F = window.FTM;
  const {h, enc, link, code, int, num, pct, usd, facts, table, field, options, bars} = F;

  function issues(title, id, {counts, samples}) {
    const found = Object.entries(counts).filter(([, n]) => n > 0);
    return h("section", {id, "aria-label": title}, h("h4", {}, title),
      found.length
        ? h("ul", {}, found.map(([name, n]) => h("li", {}, code(name), `: ${int(n)}`)))
        : h("p", {}, "None."),
      samples.length ? table(`${title}: examples`, ["Line", "Code", "Message", "Line content"],
        samples.map((s) => [s.line, code(s.code), s.message,
          s.content ? h("code", {class: "line"}, s.content) : null]))
        : "");
  }

  function tokenHistogram(histogram) {
    if (!histogram.length) return "";
    // Linear buckets of the same width, each from `ge` to `le` tokens inclusive.
    const items = histogram.map((b) => [
      b.ge === b.le ? int(b.le) : `${int(b.ge)}–${int(b.le)}`, b.count, int(b.count)]);
    return bars("Examples by total tokens", items, {id: "token-histogram"});
  }

  function labelBars(labels) {
    if (!labels) return "";
    const total = Object.values(labels.counts).reduce((a, b) => a + b, 0);
    const items = Object.entries(labels.counts).sort((a, b) => b[1] - a[1])
      .map(([label, n]) => [label, n, `${int(n)} (${pct(n / total)})`]);
    return bars(`Labels (${int(labels.distinct)} distinct)`, items, {id: "label-bars"});
  }

  function renderReport(box, r) {
    const stats = ["min", "max", "mean", "median", "p5", "p95", "sum"];
    const fmt = (k, v) => (k === "mean" ? num(v, 1) : int(v));
    const row = (label, s) => [label, ...stats.map((k) => fmt(k, s[k]))];
    const e = r.estimate;
    const errors = issues("Errors", "report-errors", r.errors);
    const warnings = issues("Warnings", "report-warnings", r.warnings);
    box.replaceChildren(
      h("h3", {id: "report-title"}, "Report"),
      facts([["Model", r.model], ["Encoding", r.encoding], ["Examples", int(r.examples)],
        ["Valid examples", int(r.valid_examples)]], {id: "report-summary"}),
      errors, warnings,
      table("Tokens per example", ["Measure", ...stats], [
        row("All messages", r.tokens.total), row("Assistant", r.tokens.assistant),
        row("Messages per example", r.tokens.messages_per_example)], {id: "report-tokens"}),
      tokenHistogram(r.tokens.histogram), labelBars(r.labels),
      h("h4", {}, "Cost estimate"),
      facts([["Epochs", int(e.n_epochs)], ["Tokens per epoch", int(e.tokens_per_epoch)],
        ["Trained (billed) tokens", int(e.trained_tokens)],
        ["Price per million tokens", usd(e.price_per_million_usd)], ["Cost", usd(e.cost_usd)]],
      {id: "report-estimate"}));
  }

  function reportForm(dataset, box) {
    const model = h("input", {id: "report-model", type: "text", placeholder: "the default model"});
    const form = h("form", {class: "inline", "aria-label": "Report options"},
      field("Model (tokenizer, context limit, price)", model),
      h("button", {type: "submit"}, "Show report"));
    form.model = model;
    F.onSubmit(form, () => loadReport(dataset, box, model.value.trim()));
    return form;
  }

  async function loadReport(dataset, box, model) {
    const query = model ? `?model=${enc(model)}` : "";
    renderReport(box, await F.api(`/v1/datasets/${enc(dataset.id)}/report${query}`));
  }

  function fraction(id, value) {
    return h("input", {id, type: "number", min: 0, max: 1, step: 0.01, value});
  }

  function splitForm(dataset) {
    const strategy = h("select", {id: "split-strategy"},
      options([["stratified", "stratified (keeps each label's share)"], ["random", "random"]],
        "stratified"));
    const train = fraction("split-train", 0.8);
    const validation = fraction("split-validation", 0.1);
    const test = fraction("split-test", 0.1);
    const seed = h("input", {id: "split-seed", type: "number", min: 0, value: 1});
    const label = h("input", {id: "split-label", type: "text", value: "assistant"});
    const result = h("div", {id: "split-result", role: "status"});
    const form = h("form", {class: "panel", "aria-labelledby": "split-title"},
      h("h3", {id: "split-title"}, "Split into train, validation and test"),
      h("div", {class: "row"}, field("Strategy", strategy),
        field("Train", train), field("Validation", validation), field("Test", test)),
      h("div", {class: "row"}, field("Seed", seed, "the same seed gives the same split"),
        field("Label", label, "assistant (the last answer) or a column")),
      h("button", {type: "submit"}, "Split"), result);
    F.onSubmit(form, async () => {
      const fractions = {};
      for (const [part, input] of [["train", train], ["validation", validation], ["test", test]]) {
        if (Number(input.value) > 0) fractions[part] = Number(input.value);
      }
      const body = {strategy: strategy.value, fractions, seed: Number(seed.value || 0)};
      if (strategy.value === "stratified") body.label = label.value.trim() || "assistant";
      const made = await F.api(`/v1/datasets/${enc(dataset.id)}/split`,
        {method: "POST", json: body});
      result.replaceChildren(h("p", {}, "Made:"), h("ul", {}, Object.entries(made.splits)
        .map(([part, d]) => h("li", {"data-part": part}, `${part}: `,
          link(`#/datasets/${enc(d.id)}`, d.name), ` (${int(d.rows)} rows)`))));
      F.notice(`Split ${dataset.name} into ${Object.keys(made.splits).join(", ")}.`);
    });
    return form;
  }

  Object.assign(F, {reportForm, loadReport, splitForm});
})();
