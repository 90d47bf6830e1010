// Jobs: the list and the create form (every hyperparameter, method, validation pairing, budget,
// the dry-run estimate before launch).
"use strict";

(() => {
  const F = window.FTM;
  const {h, enc, link, badge, code, int, usd, when, facts, field, options} = F;

  const usable = (d) => d.status === "ready" && d.format !== "csv";
  const describe = (d) => `${d.name} (${d.format}, ${int(d.rows)} rows)`;

  // The validation part made by the same split as a train part.
  function siblingValidation(known, trainId) {
    const train = known.get(trainId);
    if (!train || train.derived_by !== "split:train") return null;
    const sibling = [...known.values()].find((d) => d.parent_id === train.parent_id
      && d.derived_by === "split:validation" && usable(d));
    return sibling ? sibling.id : null;
  }

  function numberInput(id, attrs) {
    return h("input", {id, type: "number", placeholder: "auto", ...attrs});
  }

  function metadataOf(text) {
    const pairs = text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
      const at = line.indexOf("=");
      if (at < 1) throw new F.ApiError(0, null, `Metadata line "${line}" is not key=value.`);
      return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
    });
    return Object.fromEntries(pairs);
  }

  function jobForm(known, params) {
    const ready = [...known.values()].filter(usable);
    const asked = params.get("training");
    const askedDataset = asked && known.get(asked);
    const preselect = askedDataset && usable(askedDataset) ? asked : "";
    const training = h("select", {id: "job-training", required: true},
      options([["", "(choose a ready dataset)"], ...ready.map((d) => [d.id, describe(d)])],
        preselect || (asked ? "" : (ready[0] && ready[0].id) || "")));
    const validation = h("select", {id: "job-validation"},
      options([["", "(none)"], ...ready.map((d) => [d.id, describe(d)])],
        siblingValidation(known, training.value) || ""));
    training.addEventListener("change", () => {
      validation.value = siblingValidation(known, training.value) || "";
    });
    const refused = asked && !preselect ? h("p", {class: "level-error", id: "job-training-note"},
      askedDataset ? `Dataset ${askedDataset.name} is ${askedDataset.status} (${askedDataset.format})`
        + " and cannot be trained on: choose a ready dataset." : `No dataset ${asked}.`) : "";
    const model = h("input", {id: "job-model", type: "text", required: true, value: F.DEFAULT_MODEL});
    const method = h("select", {id: "job-method"}, options([["supervised", "supervised"],
      ["dpo", "DPO (preference datasets)"]], "supervised"));
    const epochs = numberInput("job-epochs", {min: 1, max: 50, step: 1});
    const batch = numberInput("job-batch-size", {min: 1, max: 256, step: 1});
    const rate = numberInput("job-lr", {min: 0.001, step: "any"});
    const beta = numberInput("job-beta", {min: 0.001, step: "any"});
    const betaField = field("Beta (DPO)", beta, "empty for auto");
    betaField.hidden = true;
    method.addEventListener("change", () => { betaField.hidden = method.value !== "dpo"; });
    const suffix = h("input", {id: "job-suffix", type: "text", maxlength: 64,
      pattern: "[A-Za-z0-9_.\\-]*"});
    const seed = h("input", {id: "job-seed", type: "number", min: 0, step: 1});
    const budget = h("input", {id: "job-budget", type: "number", min: 0.0001, step: "any"});
    const metadata = h("textarea", {id: "job-metadata", rows: 2, placeholder: "team=research"});
    const webhook = h("input", {id: "job-webhook", type: "url", placeholder: "an https URL"});
    const estimate = h("div", {id: "job-estimate", role: "status"});
    const form = h("form", {class: "panel", "aria-labelledby": "job-form-title"},
      h("h3", {id: "job-form-title"}, "Create a job"),
      ready.length ? "" : h("p", {}, "No ready dataset yet: upload one first."),
      field("Training dataset", training), refused,
      field("Validation dataset", validation, "a train split gets its validation part"),
      h("div", {class: "row"}, field("Base model", model), field("Method", method)),
      h("fieldset", {}, h("legend", {}, "Hyperparameters (empty for auto)"),
        h("div", {class: "row"}, field("Epochs", epochs), field("Batch size", batch),
          field("Learning rate multiplier", rate), betaField)),
      h("div", {class: "row"}, field("Suffix", suffix, "letters, digits, - _ . (≤ 64)"),
        field("Seed", seed, "optional"), field("Budget (USD)", budget, "refused above it")),
      h("div", {class: "row"}, field("Metadata", metadata, "key=value per line"),
        field("Webhook URL", webhook, "optional")),
      h("button", {type: "submit", value: "dry"}, "Estimate cost"), " ",
      h("button", {type: "submit", value: "create"}, "Create job"), estimate);
    const body = () => {
      const hyper = {};
      if (epochs.value) hyper.n_epochs = Number(epochs.value);
      if (batch.value) hyper.batch_size = Number(batch.value);
      if (rate.value) hyper.learning_rate_multiplier = Number(rate.value);
      if (method.value === "dpo" && beta.value) hyper.beta = Number(beta.value);
      const result = {model: model.value.trim(), training_dataset: training.value,
        method: {type: method.value, [method.value]: {hyperparameters: hyper}},
        metadata: metadataOf(metadata.value)};
      if (validation.value) result.validation_dataset = validation.value;
      if (suffix.value.trim()) result.suffix = suffix.value.trim();
      if (seed.value) result.seed = Number(seed.value);
      if (budget.value) result.max_cost_usd = Number(budget.value);
      if (webhook.value.trim()) result.webhook_url = webhook.value.trim();
      return result;
    };
    F.onSubmit(form, async (submitter) => {
      if (submitter && submitter.value === "dry") {
        const dry = await F.api("/v1/jobs", {method: "POST", json: {...body(), dry_run: true}});
        const e = dry.estimate;
        estimate.replaceChildren(h("h4", {}, "Estimate"), facts([["Epochs", int(e.n_epochs)],
          ["Billed tokens", int(e.billing_tokens)], ["Cost", usd(e.cost_usd)],
          ["Examples", int(dry.report.examples)]], {id: "job-estimate-facts"}));
        return;
      }
      const job = await F.api("/v1/jobs", {method: "POST", json: body()});
      location.hash = `#/jobs/${enc(job.id)}`;
    });
    return form;
  }

  const {jobName} = F;

  async function jobsView(root, query) {
    const params = new URLSearchParams(query || "");
    const known = await F.datasetNames();
    const list = F.pagedTable("Jobs, newest first", "/v1/jobs", [
      ["Job", (j) => h("span", {}, link(`#/jobs/${enc(j.id)}`, jobName(j)),
        j.suffix ? h("small", {class: "id"}, ` ${j.id}`) : "")],
      ["Status", (j) => badge(j.status)],
      ["Base model", (j) => j.model],
      ["Training data", (j) => F.datasetLink(known, j.training_dataset)],
      ["Progress", (j) => (F.isNum(j.progress.percent) ? `${j.progress.percent.toFixed(0)} %` : null)],
      ["Fine-tuned model", (j) => j.fine_tuned_model && code(j.fine_tuned_model)],
      ["Created", (j) => when(j.created_at)],
    ], {id: "jobs-table"});
    root.append(h("h2", {}, "Jobs"), jobForm(known, params), list.el);
    await F.watchList(root, list, (j) => !F.TERMINAL_JOB.includes(j.status))();
  }

  F.routes.push([/^#\/jobs(?:\?(.*))?$/, jobsView]);
})();
