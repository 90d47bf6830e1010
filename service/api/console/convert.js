// A CSV dataset's forms: convert to chat (templates, value maps, a live preview of the first rows
// as chat messages) and the one-click pipeline; the pipeline's page.
"use strict";

(() => {
  const F = window.FTM;
  const {h, enc, link, badge, code, int, field, options} = F;
  const PREVIEW_ROWS = 20;
  const SHOWN_EXAMPLES = 3;

  // Renders a `{Column}` template the way the service does; throws on a bad template.
  function fill(template, values) {
    return template.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (token, name) => {
      if (token === "{{" || token === "}}") return token[0];
      if (name === undefined) throw new Error(`a single '${token}': write '${token}${token}'`);
      if (!name.trim()) throw new Error("an empty placeholder {}");
      const value = values[name.trim()];
      if (value === undefined) throw new Error(`unknown column ${name.trim()}`);
      return value;
    });
  }

  const usedColumns = (template) => [...template.matchAll(/\{\{|\}\}|\{([^{}]*)\}/g)]
    .map((m) => m[1]).filter((name) => name !== undefined).map((name) => name.trim());

  // One row's chat example, or why the service would skip it.
  function convertRow(body, data) {
    const templates = ["system", "user", "assistant"].filter((role) => body[role] != null);
    const used = new Set(templates.flatMap((role) => usedColumns(body[role])));
    Object.keys(body.value_maps).forEach((name) => used.add(name));
    const values = {};
    const empty = [];
    for (const name of used) {
      if (!(name in data)) throw new Error(`unknown column ${name}`);
      let value = data[name].trim();
      const map = body.value_maps[name];
      if (map && value in map) value = map[value];
      else if (!value) empty.push(name);
      else if (map) return {skip: `no value_maps entry for ${name}=${JSON.stringify(value)}`};
      values[name] = value;
    }
    if (empty.length) return {skip: `empty ${empty.join(", ")}`};
    const messages = templates.map((role) => ({role, content: fill(body[role], values)}));
    const blank = messages.find((m) => m.role !== "system" && !m.content.trim());
    return blank ? {skip: `the ${blank.role} template gives an empty message`} : {messages};
  }

  // A value map's editor: rows of "value → text", prefilled with a column's known values.
  function valueMap(column, onChange) {
    const rows = h("tbody");
    const addRow = (from, to) => {
      const fromInput = h("input", {type: "text", value: from, "aria-label": `${column.name} value`});
      const toInput = h("input", {type: "text", value: to, "aria-label": `${column.name} value ${from} becomes`});
      const remove = h("button", {type: "button", "aria-label": `Remove ${column.name} value ${from}`,
        onclick: () => { tr.remove(); onChange(); }}, "Remove");
      const tr = h("tr", {}, h("td", {}, fromInput), h("td", {}, toInput), h("td", {}, remove));
      rows.append(tr);
    };
    const complete = column.distinct_exact !== false && column.samples.length >= column.distinct;
    (complete ? [...column.samples].sort() : []).forEach((value) => addRow(value, ""));
    const el = h("fieldset", {class: "value-map", "data-column": column.name},
      h("legend", {}, `Value map of ${column.name}`),
      h("div", {class: "scroll"}, h("table", {}, h("thead", {}, h("tr", {},
        h("th", {scope: "col"}, "Value"), h("th", {scope: "col"}, "Becomes"), h("th", {}, ""))), rows)),
      h("button", {type: "button", onclick: () => { addRow("", ""); onChange(); }}, "Add value"), " ",
      h("button", {type: "button", onclick: () => { el.remove(); onChange(); }},
        `Remove the map of ${column.name}`));
    el.addEventListener("input", onChange);
    el.read = () => Object.fromEntries([...rows.children]
      .map((tr) => [...tr.querySelectorAll("input")].map((input) => input.value))
      .filter(([from, to]) => from.trim() && to !== ""));
    return el;
  }

  function convertPreview() {
    const el = h("section", {id: "convert-preview", "aria-labelledby": "convert-preview-title",
      "aria-live": "polite"});
    const show = (rows, body) => {
      const examples = [];
      const skipped = [];
      let problem = null;
      for (const row of rows) {
        try {
          const made = convertRow(body, row.data);
          if (made.skip) skipped.push([row.row, made.skip]);
          else if (examples.length < SHOWN_EXAMPLES) examples.push([row.row, made.messages]);
        } catch (error) {
          problem = error.message;
          break;
        }
      }
      el.replaceChildren(h("h4", {id: "convert-preview-title"},
        `Preview of the first ${int(rows.length)} rows`),
      ...(problem ? [h("p", {class: "level-error", id: "convert-problem"}, `Cannot convert: ${problem}.`)] : [
        h("ol", {class: "rows"}, examples.map(([number, messages]) => h("li", {value: number},
          h("div", {class: "row-number"}, `Row ${number}`), F.messages(messages)))),
        skipped.length ? F.table("Rows of the preview that will be skipped", ["Row", "Reason"],
          skipped, {id: "preview-skipped"}) : h("p", {}, "No row of the preview is skipped.")]));
    };
    return {el, show};
  }

  function convertForm(dataset, onBody) {
    const columns = dataset.columns || [];
    const name = h("input", {id: "convert-name", type: "text", value: `${dataset.name}-chat`});
    const system = h("textarea", {id: "convert-system", rows: 2});
    const user = h("textarea", {id: "convert-user", rows: 2});
    user.value = columns.slice(0, -1).map((c) => `{${c.name}}`).join("\n");
    const assistant = h("textarea", {id: "convert-assistant", rows: 1});
    assistant.value = columns.length ? `{${columns.at(-1).name}}` : "";
    const onEmpty = h("select", {id: "convert-on-empty"},
      options([["skip", "skip the row"], ["error", "refuse the conversion"]], "skip"));
    let focused = user;
    [system, user, assistant].forEach((t) => t.addEventListener("focus", () => { focused = t; }));
    const chips = h("p", {class: "chips", id: "column-chips"}, "Insert a column: ",
      columns.map((c) => h("button", {type: "button", "aria-label": `Insert column ${c.name}`,
        onclick: () => { focused.setRangeText(`{${c.name}}`, focused.selectionStart,
          focused.selectionEnd, "end"); focused.focus(); update(); }}, `{${c.name}}`)));
    const maps = h("div", {id: "value-maps"});
    const mapColumn = h("select", {id: "map-column"}, options(columns.map((c) => [c.name, c.name]),
      columns.length ? columns.at(-1).name : ""));
    const addMap = h("button", {type: "button", onclick: () => {
      const column = columns.find((c) => c.name === mapColumn.value);
      if (column && !maps.querySelector(`[data-column="${CSS.escape(column.name)}"]`)) {
        maps.append(valueMap(column, update));
        update();
      }
    }}, "Add a value map");
    const preview = convertPreview();
    const body = () => {
      const result = {name: name.value.trim() || undefined, user: user.value,
        assistant: assistant.value, on_empty: onEmpty.value, value_maps: {}, target: "chat"};
      if (system.value.trim()) result.system = system.value;
      for (const map of maps.children) result.value_maps[map.dataset.column] = map.read();
      return result;
    };
    let rows = [];
    const update = () => { preview.show(rows, body()); onBody(body); };
    const form = h("form", {class: "panel", "aria-labelledby": "convert-title", id: "convert-form"},
      h("h3", {id: "convert-title"}, "Convert to chat"),
      h("p", {}, "Templates use ", code("{Column}"), "; write ", code("{{"), " and ", code("}}"),
        " for literal braces."), chips,
      field("System message template", system, "optional"), field("User message template", user),
      field("Assistant message template", assistant, "the answer the model should learn"),
      h("div", {class: "row"}, field("Column to map", mapColumn), addMap), maps,
      h("div", {class: "row"}, field("Empty values", onEmpty), field("New dataset name", name)),
      preview.el, h("button", {type: "submit"}, "Convert"));
    form.addEventListener("input", update);
    F.onSubmit(form, async () => {
      const made = await F.api(`/v1/datasets/${enc(dataset.id)}/convert`,
        {method: "POST", json: body()});
      F.notice(`Converted ${dataset.name} into ${made.name}: ${made.conversion.converted} rows.`);
      location.hash = `#/datasets/${enc(made.id)}`;
    });
    form.start = async () => {
      rows = (await F.api(`/v1/datasets/${enc(dataset.id)}/rows?limit=${PREVIEW_ROWS}`)).data;
      update();
    };
    return form;
  }

  function pipelineForm(convertBody) {
    const model = h("input", {id: "pipeline-model", type: "text", required: true,
      value: F.DEFAULT_MODEL});
    const epochs = h("input", {id: "pipeline-epochs", type: "number", min: 1, max: 50,
      placeholder: "auto"});
    const evaluate = h("input", {id: "pipeline-evaluate", type: "checkbox", checked: true});
    const form = h("form", {class: "panel", "aria-labelledby": "pipeline-title", id: "pipeline-form"},
      h("h3", {id: "pipeline-title"}, "Or all in one go"),
      h("p", {}, "Convert with the form above, split stratified 80/10/10 (seed 1), fine-tune on "
        + "the train part with the validation part, and evaluate on the test part."),
      h("div", {class: "row"}, field("Base model", model), field("Epochs", epochs, "empty for auto")),
      h("p", {}, h("label", {}, evaluate, " Evaluate the fine-tuned model against its base")),
      h("button", {type: "submit"}, "Run the pipeline"));
    F.onSubmit(form, async () => {
      const job = {model: model.value.trim()};
      if (epochs.value) job.hyperparameters = {n_epochs: Number(epochs.value)};
      const {name, ...convert} = convertBody.current();
      const body = {dataset: convertBody.dataset, convert, job,
        split: {strategy: "stratified", seed: 1, label: "assistant",
          fractions: {train: 0.8, validation: 0.1, test: 0.1}},
        evaluate: evaluate.checked ? {} : null};
      if (name) body.convert.name = name;
      const pipeline = await F.api("/v1/pipelines", {method: "POST", json: body});
      location.hash = `#/pipelines/${enc(pipeline.id)}`;
    });
    return form;
  }

  function csvForms(dataset) {
    const convertBody = {dataset: dataset.id, current: () => ({})};
    const convert = convertForm(dataset, (body) => { convertBody.current = body; });
    convert.start().catch(F.report);
    return [convert, pipelineForm(convertBody)];
  }

  const STEP_LINKS = {convert: "datasets", split: "datasets", job: "jobs", evaluate: "evaluations"};

  async function pipelineView(root, id) {
    const path = `/v1/pipelines/${enc(id)}`;
    const box = h("div");
    const show = (p) => box.replaceChildren(F.facts([["Status", badge(p.status)],
      ["Started from", link(`#/datasets/${enc(p.dataset)}`, p.dataset)],
      ["Created", F.when(p.created_at)]], {id: "pipeline-facts"}),
    h("ol", {id: "pipeline-steps", class: "timeline"}, p.steps.map((s) => h("li", {},
      h("strong", {}, s.name), " ", badge(s.status), " ",
      s.resource_id ? link(`#/${STEP_LINKS[s.name]}/${enc(s.resource_id)}`, s.resource_id) : "",
      s.error ? h("span", {class: "level-error"}, ` ${s.error.message} (${s.error.code})`) : ""))));
    let pipeline = await F.api(path);
    show(pipeline);
    root.append(h("p", {}, link("#/datasets", "← All datasets")),
      h("h2", {}, `Pipeline ${id}`), box);
    if (pipeline.status === "running") {
      F.poll(root, async () => {
        pipeline = await F.api(path);
        show(pipeline);
        return pipeline.status === "running";
      });
    }
  }

  Object.assign(F, {csvForms});
  F.routes.push([/^#\/pipelines\/([^/?]+)$/, pipelineView]);
})();
