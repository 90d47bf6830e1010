// Datasets: the list with a drag-and-drop upload, and a dataset's page (facts, lineage, rows,
// the forms of convert.js for a CSV, the split form and report of a JSONL dataset).
"use strict";

(() => {
  const F = window.FTM;
  const {h, enc, link, badge, code, int, bytes, when, facts, table, field, options} = F;

  function uploadForm(afterUpload) {
    const file = h("input", {id: "upload-file", type: "file", required: true,
      accept: ".jsonl,.json,.csv,.txt"});
    const name = h("input", {id: "upload-name", type: "text"});
    const format = h("select", {id: "upload-format"}, options(
      ["auto", "chat", "prompt_completion", "preference", "csv"].map((f) => [f, f]), "auto"));
    const progress = h("progress", {id: "upload-progress", max: 100, value: 0, hidden: true,
      "aria-label": "Upload progress"});
    const zone = h("div", {class: "dropzone", id: "dropzone"},
      h("p", {}, "Drop a JSONL or CSV file here, or choose one:"),
      field("File (JSONL or CSV)", file));
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("over"); });
    }
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer.files.length) file.files = event.dataTransfer.files;
    });
    const form = h("form", {"aria-labelledby": "upload-title", class: "panel"},
      h("h3", {id: "upload-title"}, "Upload a dataset"), zone,
      field("Name", name, "optional; the file name by default"),
      field("Format", format), h("button", {type: "submit"}, "Upload"), " ", progress);
    F.onSubmit(form, async () => {
      const data = new FormData();
      data.append("file", file.files[0]);
      if (name.value.trim()) data.append("name", name.value.trim());
      data.append("format", format.value);
      progress.hidden = false;
      try {
        const dataset = await F.upload("/v1/datasets", data, (share) => {
          progress.value = Math.round(100 * share);
        });
        F.notice(`Uploaded ${dataset.name} as ${dataset.id}: ${dataset.status}.`);
        form.reset();
        await afterUpload(dataset);
      } finally {
        progress.hidden = true;
      }
    });
    return form;
  }

  async function datasetsView(root) {
    const known = await F.datasetNames();
    const list = F.pagedTable("Datasets, newest first", "/v1/datasets", [
      ["Name", (d) => h("span", {}, link(`#/datasets/${enc(d.id)}`, d.name),
        h("small", {class: "id"}, ` ${d.id}`))],
      ["Format", (d) => d.format],
      ["Status", (d) => badge(d.status)],
      ["Rows", (d) => int(d.rows)],
      ["Size", (d) => bytes(d.bytes)],
      ["Made from", (d) => d.parent_id && F.datasetLink(known, d.parent_id)],
      ["Created", (d) => when(d.created_at)],
    ], {id: "datasets-table"});
    const refresh = F.watchList(root, list, (d) => d.status === "processing");
    root.append(h("h2", {}, "Datasets"), uploadForm(refresh), list.el);
    await refresh();
  }

  // Parent and derived datasets, by name.
  function lineage(dataset, known, children) {
    return h("section", {id: "lineage", "aria-labelledby": "lineage-title"},
      h("h3", {id: "lineage-title"}, "Lineage"),
      facts([["Made from", dataset.parent_id
        ? h("span", {}, F.datasetLink(known, dataset.parent_id), ` by ${dataset.derived_by}`)
        : "an upload"]]),
      children.length ? h("ul", {}, children.map((d) => h("li", {},
        F.datasetLink(known, d.id), ` (${d.derived_by}, ${int(d.rows)} rows) `, badge(d.status))))
        : h("p", {}, "No dataset was made from this one yet."));
  }

  // A chat example as message bubbles (also used by the convert preview and evaluations).
  function messages(list) {
    return h("div", {class: "messages"}, (list || []).map((m) => h("div",
      {class: `message ${m.role}`}, h("strong", {}, `${m.role}: `),
      h("span", {class: "content"}, typeof m.content === "string" ? m.content
        : JSON.stringify(m.content)))));
  }

  function rowView(dataset, row) {
    if (row.error) return h("p", {class: "level-error"}, row.error);
    if (dataset.format === "csv") {
      return facts(Object.entries(row.data).map(([name, value]) => [name, value || "(empty)"]));
    }
    if (row.data && Array.isArray(row.data.messages)) return messages(row.data.messages);
    return h("pre", {}, JSON.stringify(row.data, null, 2));
  }

  // The parsed rows, a page at a time.
  function rowsPreview(dataset) {
    const size = 5;
    let offset = 0;
    const list = h("ol", {class: "rows", id: "rows-list"});
    const where = h("span", {id: "rows-where", role: "status"});
    const prev = h("button", {type: "button"}, "Previous rows");
    const next = h("button", {type: "button"}, "Next rows");
    const load = async () => {
      const page = await F.api(`/v1/datasets/${enc(dataset.id)}/rows?offset=${offset}&limit=${size}`);
      list.replaceChildren(...page.data.map((row) => h("li", {value: row.row},
        h("div", {class: "row-number"}, `Row ${row.row}`), rowView(dataset, row))));
      const last = offset + page.data.length;
      where.textContent = page.data.length
        ? `Rows ${int(offset + 1)}–${int(last)} of ${int(page.total)}` : "No rows.";
      prev.disabled = offset === 0;
      next.disabled = page.total == null ? page.data.length < size : last >= page.total;
    };
    F.onClick(prev, async () => { offset = Math.max(0, offset - size); await load(); });
    F.onClick(next, async () => { offset += size; await load(); });
    const el = h("section", {id: "rows", "aria-labelledby": "rows-title"},
      h("h3", {id: "rows-title"}, "Rows"), h("p", {class: "pager"}, prev, " ", next, " ", where),
      list);
    return {el, load};
  }

  function skippedRows(conversion) {
    if (!conversion) return "";
    const more = conversion.skipped_count > conversion.skipped.length
      ? ` (the first ${conversion.skipped.length} listed)` : "";
    return h("section", {id: "conversion", "aria-labelledby": "conversion-title"},
      h("h3", {id: "conversion-title"}, "Conversion"),
      h("p", {}, `${int(conversion.converted)} rows converted, `
        + `${int(conversion.skipped_count || conversion.skipped.length)} skipped${more}.`),
      conversion.skipped.length ? table("Skipped rows", ["Row", "Reason"],
        conversion.skipped.map((s) => [s.row, s.reason]), {id: "skipped-rows"}) : "");
  }

  async function datasetView(root, id) {
    const path = `/v1/datasets/${enc(id)}`;
    let [dataset, known, children] = await Promise.all([F.api(path), F.datasetNames(),
      F.all(`/v1/datasets?parent_id=${enc(id)}`)]);
    const about = h("div");
    const remove = h("button", {type: "button", class: "danger"}, "Delete dataset");
    const show = () => {
      const d = dataset;
      about.replaceChildren(facts([
        ["Name", d.name], ["ID", code(d.id)], ["File", d.filename], ["Format", d.format],
        ["Status", badge(d.status)], ["Rows", int(d.rows)], ["Size", bytes(d.bytes)],
        ["SHA-256", code(d.sha256)], ["Created", when(d.created_at)], ["Problem", d.error],
      ], {id: "dataset-facts"}),
      d.columns ? table("Columns", ["Column", "Distinct", "Empty", "Samples"],
        d.columns.map((c) => [c.name, int(c.distinct), int(c.empty), c.samples.join(" · ")]),
        {id: "columns-table"}) : "");
    };
    F.onClick(remove, async () => {
      if (!window.confirm(`Delete dataset ${dataset.name} (${dataset.id})?`)) return;
      await F.api(path, {method: "DELETE"});
      F.notice(`Deleted dataset ${dataset.name}.`);
      location.hash = "#/datasets";
    });
    show();
    const trainable = dataset.format !== "csv" && dataset.status === "ready";
    const rows = rowsPreview(dataset);
    root.append(h("p", {}, link("#/datasets", "← All datasets")),
      h("h2", {}, `Dataset ${dataset.name}`), about,
      h("p", {class: "actions"}, trainable
        ? link(`#/jobs?training=${enc(dataset.id)}`, "Fine-tune on this dataset") : "", " ", remove),
      lineage(dataset, known, children), skippedRows(dataset.conversion), rows.el);
    await rows.load();
    if (dataset.format === "csv") {
      root.append(...F.csvForms(dataset));
      return;
    }
    const reportBox = h("section", {id: "report", "aria-labelledby": "report-title"});
    root.append(dataset.status === "ready" ? F.splitForm(dataset) : "",
      F.reportForm(dataset, reportBox), reportBox);
    if (dataset.status !== "processing") return F.loadReport(dataset, reportBox);
    reportBox.replaceChildren(h("p", {}, "Validating… the report appears when it is done."));
    F.poll(root, async () => {
      dataset = await F.api(path);
      show();
      if (dataset.status === "processing") return true;
      await F.loadReport(dataset, reportBox);
      return false;
    });
  }

  Object.assign(F, {messages});
  F.routes.push([/^#\/datasets\/([^/?]+)$/, datasetView], [/^#\/datasets$/, datasetsView]);
})();
