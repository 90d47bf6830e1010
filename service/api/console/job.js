// A job's page: status timeline, hyperparameters, loss and token-accuracy charts that grow with
// the event stream, checkpoints, events, cancel/pause/resume, and links to evaluate and chat.
"use strict";

(() => {
  const F = window.FTM;
  const {h, enc, link, badge, code, int, num, pct, usd, when, facts, table} = F;
  const HYPER = [["n_epochs", "Epochs"], ["batch_size", "Batch size"],
    ["learning_rate_multiplier", "Learning rate multiplier"], ["beta", "Beta (DPO)"]];

  // A uPlot line chart over steps; `lines` are [metric, label, colour]; hover shows the values.
  function chart(id, title, lines, format) {
    const el = h("figure", {class: "chart", id, role: "img", "aria-label": `${title}: no values yet`});
    const note = h("figcaption", {id: `${id}-summary`}, `${title}: no values yet.`);
    let plot = null;
    let rows = [];
    const width = () => Math.max(260, Math.min(el.parentElement ? el.parentElement.clientWidth : 720, 900));
    const build = () => new uPlot({ // eslint-disable-line no-undef
      width: width(), height: 240, title,
      scales: {x: {time: false}},
      axes: [{label: "step"}, {label: title.toLowerCase(), size: 60, values: (u, ticks) => ticks.map(format)}],
      series: [{label: "step", value: (u, v) => (v == null ? "—" : int(v))},
        ...lines.map(([, label, stroke]) => ({label, stroke, width: 2, spanGaps: true,
          value: (u, v) => (v == null ? "—" : format(v))}))],
    }, [[], ...lines.map(() => [])], el);
    const update = (all) => {
      rows = all.filter((r) => lines.some(([key]) => F.isNum(r[key])));
      el.dataset.points = String(rows.reduce((n, r) =>
        n + lines.filter(([key]) => F.isNum(r[key])).length, 0));
      if (!rows.length) return;
      if (!plot) plot = build();
      plot.setData([rows.map((r) => r.step),
        ...lines.map(([key]) => rows.map((r) => (F.isNum(r[key]) ? r[key] : null)))]);
      const shown = lines.filter(([key]) => rows.some((r) => F.isNum(r[key]))).map(([key, label]) => {
        const values = rows.filter((r) => F.isNum(r[key]));
        return `${label} ${format(values[0][key])} → ${format(values.at(-1)[key])}`;
      }).join("; ");
      note.textContent = `${int(rows.length)} steps; ${shown}.`;
      el.setAttribute("aria-label", `${title} by step: ${shown}`);
    };
    const resize = () => plot && plot.setSize({width: width(), height: 240});
    return {el: h("div", {class: "chart-box"}, el, note), update, resize};
  }

  function hyperparameters(job) {
    const asked = job.method.hyperparameters
      || (job.method[job.method.type] || {}).hyperparameters || {};
    const used = job.hyperparameters || {};
    const shown = HYPER.filter(([key]) => key !== "beta" || job.method.type === "dpo");
    const value = (v) => (v == null ? "auto" : String(v));
    return table("Hyperparameters", ["Name", "Requested", "Used by the provider"],
      shown.map(([key, label]) => [label, value(asked[key]), used[key] == null ? "—" : String(used[key])]),
      {id: "job-hyperparameters"});
  }

  function checkpoints(list) {
    const m = (c, key) => c.metrics && c.metrics[key];
    return list.length ? table("Checkpoints", ["Step", "Model", "Train loss", "Validation loss",
      "Full validation loss", "Train accuracy", "Validation accuracy", "Created"],
    list.map((c) => [int(c.step_number), code(c.fine_tuned_model_checkpoint),
      num(m(c, "train_loss")), num(m(c, "valid_loss")), num(m(c, "full_valid_loss")),
      pct(m(c, "train_mean_token_accuracy")), pct(m(c, "valid_mean_token_accuracy")),
      when(c.created_at)]), {id: "job-checkpoints"}) : h("p", {id: "job-checkpoints"}, "Checkpoints: none yet.");
  }

  function facts_(job, known) {
    const p = job.progress;
    const e = job.estimate;
    return facts([
      ["Status", badge(job.status)], ["Waiting because", job.pending_reason],
      ["Base model", job.model],
      ["Training dataset", F.datasetLink(known, job.training_dataset)],
      ["Validation dataset", F.datasetLink(known, job.validation_dataset)],
      ["Method", job.method.type], ["Suffix", job.suffix], ["Seed", job.seed],
      ["Step", F.isNum(p.step) ? `${int(p.step)} of ${int(p.total_steps)}` : null],
      ["Train loss", F.isNum(p.train_loss) ? num(p.train_loss) : null],
      ["Validation loss", F.isNum(p.valid_loss) ? num(p.valid_loss) : null],
      ["Fine-tuned model", job.fine_tuned_model && code(job.fine_tuned_model)],
      ["Estimate", e && `${usd(e.cost_usd)}, ${int(e.billing_tokens)} tokens, ${int(e.n_epochs)} epochs`],
      ["Trained tokens", F.isNum(job.trained_tokens) ? int(job.trained_tokens) : null],
      ["Cost", F.isNum(job.cost_usd) ? usd(job.cost_usd) : null],
      ["Metadata", Object.entries(job.metadata || {}).map(([k, v]) => `${k}=${v}`).join(", ")],
      ["Provider job", job.provider.job_id],
      ["Error", job.error && `${job.error.message} (${F.dash(job.error.code)})`],
      ["Created", when(job.created_at)], ["Finished", job.finished_at && when(job.finished_at)],
      ["Estimated finish", !job.finished_at && job.estimated_finish && when(job.estimated_finish)],
    ], {id: "job-facts"});
  }

  async function jobView(root, id) {
    const {signal} = F.state.leaving;
    const path = `/v1/jobs/${enc(id)}`;
    let [job, known] = await Promise.all([F.api(path), F.datasetNames()]);
    const about = h("div");
    const hyper = h("div");
    const bar = h("progress", {id: "job-progress", max: 100, "aria-label": "Training progress"});
    const actions = {cancel: h("button", {type: "button", class: "danger"}, "Cancel job"),
      pause: h("button", {type: "button"}, "Pause job"),
      resume: h("button", {type: "button"}, "Resume job")};
    const links = h("span", {id: "job-links"});
    const timeline = h("ol", {id: "job-timeline", class: "timeline", "aria-label": "Status timeline"});
    const loss = chart("loss-chart", "Loss", [["train_loss", "train loss", "#1d4ed8"],
      ["valid_loss", "validation loss", "#c2410c"], ["full_valid_loss", "full validation loss", "#7c3aed"]],
    (v) => v.toFixed(3));
    const accuracy = chart("accuracy-chart", "Token accuracy",
      [["train_mean_token_accuracy", "train accuracy", "#1d4ed8"],
        ["valid_mean_token_accuracy", "validation accuracy", "#c2410c"],
        ["full_valid_mean_token_accuracy", "full validation accuracy", "#7c3aed"]],
      (v) => `${(100 * v).toFixed(1)} %`);
    const checkpointBox = h("div", {}, checkpoints([]));
    const streamState = h("p", {id: "stream-state", role: "status"}, "Connecting to events…");
    const log = h("ol", {id: "job-events", class: "events", tabindex: 0, "aria-label": "Events"});
    const show = () => {
      about.replaceChildren(facts_(job, known));
      hyper.replaceChildren(hyperparameters(job));
      if (F.isNum(job.progress.percent)) bar.value = job.progress.percent; else bar.removeAttribute("value");
      actions.cancel.hidden = F.TERMINAL_JOB.includes(job.status);
      actions.pause.hidden = job.status !== "running";
      actions.resume.hidden = job.status !== "paused";
      links.replaceChildren(...(job.fine_tuned_model ? [
        link(`#/evaluations?job=${enc(job.id)}`, "Evaluate this model"), " ",
        link(`#/playground?model=${enc(job.fine_tuned_model)}`, "Chat with this model")] : []));
    };
    const refresh = async () => { job = await F.api(path); show(); };
    const steps = new Map();
    const merge = (rows) => rows.forEach((row) => {
      const known_ = steps.get(row.step) || {};
      for (const [name, value] of Object.entries(row)) if (value != null) known_[name] = value;
      steps.set(row.step, known_);
    });
    const draw = async () => {
      const rows = [...steps.values()].sort((a, b) => a.step - b.step);
      loss.update(rows);
      accuracy.update(rows);
    };
    const redraw = async () => { merge((await F.api(`${path}/metrics`)).data); draw(); };
    const loadCheckpoints = async () => checkpointBox.replaceChildren(
      checkpoints((await F.api(`${path}/checkpoints`)).data));
    const later = (action, ms) => { // at most one call per `ms`
      let timer = null;
      return () => {
        if (timer) return;
        timer = setTimeout(() => { timer = null; action().catch(F.report); }, ms);
      };
    };
    const refreshSoon = later(refresh, 1000);
    const drawSoon = later(draw, 300);
    for (const [action, button] of Object.entries(actions)) {
      F.onClick(button, async () => {
        if (action === "cancel" && !window.confirm(`Cancel job ${F.jobName(job)}?`)) return;
        job = await F.api(`${path}/${action}`, {method: "POST"});
        show();
      });
    }
    window.addEventListener("resize", () => { loss.resize(); accuracy.resize(); }, {signal});
    show();
    root.append(h("p", {}, link("#/jobs", "← All jobs")),
      h("h2", {}, `Job ${F.jobName(job)}`, job.suffix ? h("small", {class: "id"}, ` ${job.id}`) : ""),
      about, h("p", {class: "actions"}, h("label", {for: "job-progress"}, "Progress "), bar, " ",
        actions.cancel, " ", actions.pause, " ", actions.resume, " ", links),
      h("h3", {}, "Status timeline"), timeline, hyper,
      h("h3", {}, "Training curves"), h("div", {class: "charts"}, loss.el, accuracy.el),
      checkpointBox, h("h3", {}, "Events"), streamState, log);
    await Promise.all([redraw(), loadCheckpoints()]);

    const onEvent = (event) => {
      if (event.type === "metrics") {
        if (typeof event.data.step === "number") merge([event.data]);
        drawSoon();
        refreshSoon();
        return;
      }
      log.append(h("li", {class: `level-${event.level}`},
        h("time", {}, when(event.created_at)), ` ${event.type}: ${event.message}`));
      log.scrollTop = log.scrollHeight;
      if (event.type === "checkpoint") loadCheckpoints().catch(F.report);
      if (event.type === "status") {
        timeline.append(h("li", {}, badge(event.data.to), " ", h("time", {}, when(event.created_at))));
        if (event.data.to) { job = {...job, status: event.data.to}; show(); }
        refreshSoon();
      }
    };
    let lastId = null;
    const follow = async () => {
      const after = lastId ? `?after=${enc(lastId)}` : "";
      const response = await F.request(`${path}/events/stream${after}`,
        {signal, accept: "text/event-stream"});
      streamState.textContent = "Following events live.";
      for await (const frame of F.sseFrames(response.body)) {
        if (frame.event === "end") {
          await Promise.all([refresh(), redraw(), loadCheckpoints()]);
          streamState.textContent = `The job ended: ${JSON.parse(frame.data).status}.`;
          return true;
        }
        lastId = frame.id || lastId;
        onEvent(JSON.parse(frame.data));
      }
      return false; // closed without an end: reconnect from the last event
    };
    (async () => {
      while (!signal.aborted) {
        try {
          if (await follow()) return;
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof F.ApiError) { F.report(error); return; }
          streamState.textContent = "The event stream broke off; reconnecting…";
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    })();
  }

  F.routes.push([/^#\/jobs\/([^/?]+)$/, jobView]);
})();
