// Evaluations: the list and form, and an evaluation's page with per-model results side by side,
// confusion-matrix heatmaps, per-label scores, the comparison in words, and the wrong answers
// with the examples' inputs.
"use strict";

(() => {
  const F = window.FTM;
  const {h, enc, link, badge, code, int, num, pct, usd, when, facts, table, field, options} = F;

  async function evaluationsView(root, query) {
    const params = new URLSearchParams(query || "");
    const known = await F.datasetNames();
    const ready = [...known.values()].filter((d) => d.status === "ready" && d.format !== "csv");
    const jobs = (await F.api("/v1/jobs?status=succeeded&limit=100")).data
      .filter((j) => j.fine_tuned_model);
    const askedJob = jobs.find((j) => j.id === params.get("job"));
    // A job's own split: its test part is the natural held-out set.
    const train = askedJob && known.get(askedJob.training_dataset);
    const test = train && ready.find((d) => d.parent_id === train.parent_id
      && d.derived_by === "split:test");
    const dataset = h("select", {id: "eval-dataset", required: true}, options(
      ready.map((d) => [d.id, `${d.name} (${int(d.rows)} rows)`]), test ? test.id : undefined));
    const job = h("select", {id: "eval-job"}, options([["", "(none: use the models below)"],
      ...jobs.map((j) => [j.id, `${F.jobName(j)} (${j.fine_tuned_model})`])],
    askedJob ? askedJob.id : ""));
    const models = h("input", {id: "eval-models", type: "text"});
    const maxExamples = h("input", {id: "eval-max-examples", type: "number", min: 1});
    const maxTokens = h("input", {id: "eval-max-tokens", type: "number", min: 1, value: 20});
    const scoring = h("select", {id: "eval-scoring"}, options([["label", "label"],
      ["exact", "exact"], ["normalized", "normalized"]], "label"));
    const form = h("form", {class: "panel", "aria-labelledby": "eval-form-title"},
      h("h3", {id: "eval-form-title"}, "Evaluate"),
      field("Test dataset", dataset),
      field("Job", job, "compares its fine-tuned model with its base model"),
      field("Or models", models, "comma-separated, first is compared with second"),
      h("div", {class: "row"}, field("Max examples", maxExamples, "empty for all"),
        field("Max tokens per answer", maxTokens), field("Scoring", scoring)),
      h("button", {type: "submit"}, "Start evaluation"));
    F.onSubmit(form, async () => {
      const body = {dataset: dataset.value, scoring: scoring.value};
      if (job.value) body.job = job.value;
      else body.models = models.value.split(",").map((m) => m.trim()).filter(Boolean);
      if (maxExamples.value) body.max_examples = Number(maxExamples.value);
      if (maxTokens.value) body.max_tokens = Number(maxTokens.value);
      const evaluation = await F.api("/v1/evaluations", {method: "POST", json: body});
      location.hash = `#/evaluations/${enc(evaluation.id)}`;
    });
    const list = F.pagedTable("Evaluations, newest first", "/v1/evaluations", [
      ["Evaluation", (e) => h("span", {}, link(`#/evaluations/${enc(e.id)}`,
        `on ${known.has(e.dataset) ? known.get(e.dataset).name : e.dataset}`),
      h("small", {class: "id"}, ` ${e.id}`))],
      ["Status", (e) => badge(e.status)],
      ["Models", (e) => e.models.join(" vs ")],
      ["Progress", (e) => `${int(e.progress.done)} / ${int(e.progress.total)}`],
      ["Created", (e) => when(e.created_at)],
    ], {id: "evaluations-table"});
    root.append(h("h2", {}, "Evaluations"), form, list.el);
    await F.watchList(root, list, (e) => F.ACTIVE_EVALUATION.includes(e.status))();
  }

  // Rows: the expected label; columns: the predicted one. Darker is more of the row's examples.
  function heatmap(model, matrix) {
    const {labels} = matrix;
    const cells = matrix.matrix;
    return h("div", {class: "scroll"}, h("table", {class: "heatmap", "data-model": model},
      h("caption", {}, "Confusion matrix (rows: expected, columns: predicted)"),
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "expected \\ predicted"),
        labels.map((label) => h("th", {scope: "col"}, label)))),
      h("tbody", {}, cells.map((row, i) => {
        const total = row.reduce((a, b) => a + b, 0);
        return h("tr", {}, h("th", {scope: "row"}, labels[i]), row.map((n, j) => {
          const share = total ? n / total : 0;
          const td = h("td", {class: i === j ? "diagonal" : "", "data-expected": labels[i],
            "data-predicted": labels[j], title: `${n} of ${total} "${labels[i]}" answered "${labels[j]}"`}, int(n));
          td.style.backgroundColor = `rgba(${i === j ? "5, 150, 105" : "220, 38, 38"}, ${(0.08 + 0.8 * share).toFixed(2)})`;
          if (share > 0.55) td.classList.add("dark");
          return td;
        }));
      }))));
  }

  function perLabel(model, r) {
    return table(`Per label: ${model}`, ["Label", "Precision", "Recall", "F1", "Support"],
      Object.entries(r.per_label).map(([label, s]) =>
        [label, num(s.precision), num(s.recall), num(s.f1), int(s.support)]),
      {class: "per-label", "data-model": model});
  }

  function modelCard(model, r) {
    return h("article", {class: "model-card", "data-model": model, "aria-label": `Results of ${model}`},
      h("h4", {}, code(model)),
      facts([["Accuracy", pct(r.accuracy)], ["Macro-F1", num(r.macro_f1)], ["MCC", num(r.mcc)],
        ["Invalid outputs", int(r.invalid_outputs)], ["Mean latency", `${int(r.mean_latency_ms)} ms`],
        ["Tokens", `${int(r.prompt_tokens)} in, ${int(r.completion_tokens)} out`],
        ["Cost", usd(r.cost_usd)]]),
      heatmap(model, r.confusion_matrix), perLabel(model, r));
  }

  function comparisonText(e) {
    const c = e.comparison;
    const [first, second] = e.models;
    const delta = 100 * c.accuracy_delta;
    const better = delta === 0 ? "Both models are equally accurate"
      : `${delta > 0 ? first : second} is ${Math.abs(delta).toFixed(1)} points more accurate`;
    const significant = F.isNum(c.mcnemar_p) && c.mcnemar_p < 0.05;
    return [
      h("p", {}, `${better} (${first} ${pct(e.results[first].accuracy)}, ${second} `
        + `${pct(e.results[second].accuracy)}).`),
      h("p", {id: "flips-text"}, `On ${int(c.flips.fixed + c.flips.broken)} examples exactly one model is right: `
        + `${first} fixed ${int(c.flips.fixed)} that ${second} gets wrong, and broke `
        + `${int(c.flips.broken)} that ${second} gets right.`),
      h("p", {id: "mcnemar-text"}, F.isNum(c.mcnemar_p)
        ? `McNemar's test on those examples gives p = ${num(c.mcnemar_p, 4)}: `
          + (significant ? "the difference is unlikely to be chance (p < 0.05)."
            : "with this few disagreements the difference could well be chance (p ≥ 0.05).")
        : "McNemar's test needs at least one example where exactly one model is right.")];
  }

  // The last user message sent for the example (the API keeps the messages it sent).
  const inputText = (messages) => {
    if (!messages) return null;
    const users = messages.filter((m) => m.role === "user");
    return (users.length ? [users.at(-1)] : messages).map((m) => m.content).join("\n");
  };

  function wrongAnswers(e, model) {
    const body = h("tbody");
    const more = h("button", {type: "button", hidden: true}, "More wrong answers");
    const empty = h("p", {hidden: true}, "No wrong answers.");
    let after = "";
    const load = async () => {
      const page = await F.api(`/v1/evaluations/${enc(e.id)}/predictions?model=${enc(model)}`
        + `&correct=false&limit=20${after}`);
      for (const p of page.data) {
        body.append(h("tr", {"data-index": p.index}, h("td", {}, int(p.index + 1)),
          h("td", {class: "input"}, F.dash(inputText(p.input))), h("td", {}, p.expected),
          h("td", {}, p.output == null ? "(no answer)" : p.output),
          h("td", {}, p.invalid ? h("span", {class: "badge status-invalid"}, "invalid")
            : F.dash(p.predicted_label))));
      }
      after = page.has_more ? `&after=${enc(page.last_id)}` : "";
      more.hidden = !page.has_more;
      empty.hidden = body.children.length > 0;
    };
    F.onClick(more, load);
    const el = h("section", {class: "wrong", "data-model": model}, h("h4", {}, "Wrong and invalid answers of ", code(model)),
      h("div", {class: "scroll"}, h("table", {}, h("thead", {}, h("tr", {},
        ["Example", "Input", "Expected", "Answer", "Label read"].map((n) => h("th", {scope: "col"}, n)))), body)),
      empty, more);
    return {el, load};
  }

  async function evaluationView(root, id) {
    const path = `/v1/evaluations/${enc(id)}`;
    const [known, jobs] = await Promise.all([F.datasetNames(), F.jobNames()]);
    const body = h("div");
    const cancel = h("button", {type: "button", class: "danger"}, "Cancel evaluation");
    let evaluation;
    const show = () => {
      const e = evaluation;
      const results = Object.entries(e.results || {});
      cancel.hidden = !F.ACTIVE_EVALUATION.includes(e.status);
      body.replaceChildren(
        facts([["Status", badge(e.status)], ["Dataset", F.datasetLink(known, e.dataset)],
          ["Job", F.jobLink(jobs, e.job)], ["Scoring", e.scoring],
          ["Mode", e.mode], ["Progress", `${int(e.progress.done)} of ${int(e.progress.total)} answers`],
          ["Skipped examples", int(e.skipped_examples)], ["Error", e.error && e.error.message]],
        {id: "evaluation-facts"}),
        results.length ? table("Results per model", ["Model", "Accuracy", "Macro-F1", "MCC",
          "Invalid outputs", "Mean latency (ms)", "Prompt / completion tokens", "Cost"],
        results.map(([model, r]) => [code(model), pct(r.accuracy), num(r.macro_f1),
          num(r.mcc), int(r.invalid_outputs), int(r.mean_latency_ms),
          `${int(r.prompt_tokens)} / ${int(r.completion_tokens)}`, usd(r.cost_usd)]),
        {id: "evaluation-results"}) : h("p", {}, "No results yet."),
        e.comparison ? h("section", {id: "evaluation-comparison", "aria-label": "Comparison"},
          h("h3", {}, "Comparison"), comparisonText(e)) : "",
        results.length ? h("div", {class: "side-by-side"},
          results.map(([model, r]) => modelCard(model, r))) : "");
    };
    const showWrong = async () => {
      if (evaluation.status !== "succeeded") return;
      const lists = Object.keys(evaluation.results || {}).map((model) => wrongAnswers(evaluation, model));
      body.append(h("section", {id: "evaluation-wrong"}, h("h3", {}, "Wrong answers"),
        h("div", {class: "stacked"}, lists.map((l) => l.el))));
      await Promise.all(lists.map((l) => l.load()));
    };
    const refresh = async () => { evaluation = await F.api(path); show(); };
    F.onClick(cancel, async () => { evaluation = await F.api(`${path}/cancel`, {method: "POST"}); show(); });
    await refresh();
    root.append(h("p", {}, link("#/evaluations", "← All evaluations")),
      h("h2", {}, `Evaluation ${id}`), h("p", {}, cancel), body);
    if (!F.ACTIVE_EVALUATION.includes(evaluation.status)) return showWrong();
    F.poll(root, async () => {
      await refresh();
      if (F.ACTIVE_EVALUATION.includes(evaluation.status)) return true;
      await showWrong();
      return false;
    });
  }

  F.routes.push([/^#\/evaluations\/([^/?]+)$/, evaluationView],
    [/^#\/evaluations(?:\?(.*))?$/, evaluationsView]);
})();
