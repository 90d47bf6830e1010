"""The whole journey in the console, in a real Chromium against a live service, worker and
emulator: a key, the reflections CSV uploaded, converted with templates and a value map, split
stratified, a job followed live to success, an evaluation, the playground side by side, and the
model deleted. Every number the page shows is checked against the API's answer."""

import re
from typing import Any

import pytest

from tests.datagen import LEVELS, SYSTEM, USER_TEMPLATE, reflections_csv
from tests.factories import drive_jobs, run_tasks
from tests.support.browser import check_page, find_chromium
from tests.support.env import MODEL, TERMINAL

if find_chromium() is None:
    pytest.skip("no Chromium executable found (apt-get install chromium, or set FTM_CHROMIUM)",
                allow_module_level=True)
expect = pytest.importorskip("playwright.sync_api",
                             reason="the playwright package is not installed").expect
# steps imports playwright, so it can only come once the skips above have run.
from tests.console.steps import new_key, number_in, run_evaluation, sign_in, usd  # noqa: E402

# Records each number of points the loss chart shows, as it changes.
WATCH_POINTS = """() => {
  window.pointsSeen = [];
  const chart = document.getElementById("loss-chart");
  new MutationObserver(() => window.pointsSeen.push(Number(chart.dataset.points)))
    .observe(chart, {attributes: true, attributeFilter: ["data-points"]});
}"""


# Records every text the base model's answer is given, in order (each assignment inserts a new
# text node, whose data stays what was assigned however late the observer runs).
WATCH_ANSWER = """() => {
  window.answerTexts = [];
  new MutationObserver((records) => {
    for (const record of records) {
      const target = record.target;
      if (!(target.closest && target.closest(".message.assistant .content"))) continue;
      for (const node of record.addedNodes) {
        if (node.nodeType === Node.TEXT_NODE) window.answerTexts.push(node.data);
      }
    }
  }).observe(document.getElementById("chat-transcript-base"), {childList: true, subtree: true});
}"""


def get(client: Any, headers: dict[str, str], path: str) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def upload_and_convert(page: Any, client: Any, ctx: Any, headers: dict[str, str],
                       tmp_path: Any) -> dict[str, Any]:
    """Upload the CSV by the file input, convert it with the form; answer the chat dataset."""
    data = reflections_csv(tmp_path / "reflections.csv", rows=200)
    page.get_by_label("File (JSONL or CSV)").set_input_files(str(data.path))
    page.get_by_label("Name", exact=True).fill("reflections")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#notice")).to_contain_text("Uploaded reflections as ds_")
    run_tasks(ctx)
    row = page.locator("#datasets-table tbody tr").filter(has_text="reflections")
    expect(row.locator("td").nth(2)).to_have_text("ready")
    csv_id = row.get_attribute("data-id")
    csv_dataset = get(client, headers, f"/v1/datasets/{csv_id}")
    expect(row.locator("td").nth(3)).to_have_text(str(csv_dataset["rows"]))
    check_page(page, "datasets")

    row.get_by_role("link", name="reflections").click()
    expect(page.get_by_role("heading", name="Dataset reflections")).to_be_visible()
    columns = page.locator("#columns-table tbody tr")
    expect(columns).to_have_count(len(csv_dataset["columns"]))
    for shown, column in zip(columns.all(), csv_dataset["columns"], strict=True):
        expect(shown.locator("td").nth(0)).to_have_text(column["name"])
        expect(shown.locator("td").nth(1)).to_have_text(str(column["distinct"]))
    page.get_by_label("System message template").fill(SYSTEM)
    page.get_by_label("User message template").fill(USER_TEMPLATE)
    page.get_by_label("Assistant message template").fill("{Final}")
    page.get_by_label("Column to map").select_option("Final")
    page.get_by_role("button", name="Add a value map").click()
    for value, level in LEVELS.items():
        page.get_by_label(f"Final value {value} becomes").fill(level)
    page.get_by_label("New dataset name").fill("reflections-chat")

    # The preview: the first rows as chat messages, the blank answers among them to be skipped.
    preview = page.locator("#convert-preview")
    first = data.records[0]
    expect(preview.locator("li").first.locator(".message.assistant .content")).to_have_text(
        LEVELS[first["Final"].strip()])
    expect(preview.locator("li").first.locator(".message.user .content")).to_have_text(
        USER_TEMPLATE.format(Question=first["Question"].strip(), Answers=first["Answers"].strip()))
    in_preview = [row for row in data.empty_answers if row <= 20]
    assert in_preview, data.empty_answers
    expect(preview.locator("#preview-skipped tbody tr td:first-child")).to_have_text(
        [str(row) for row in in_preview])
    check_page(page, "dataset-csv")

    page.get_by_role("button", name="Convert", exact=True).click()
    expect(page.get_by_role("heading", name="Dataset reflections-chat")).to_be_visible()
    chat_id = page.url.rsplit("/", 1)[1]
    chat = get(client, headers, f"/v1/datasets/{chat_id}")
    assert chat["conversion"]["converted"] == 200 - len(data.empty_answers)
    expect(page.locator("#skipped-rows tbody tr td:first-child")).to_have_text(
        [str(row) for row in data.empty_answers])
    expect(page.locator("#lineage")).to_contain_text("reflections")
    return chat


def report_and_split(page: Any, client: Any, headers: dict[str, str],
                     chat: dict[str, Any]) -> dict[str, Any]:
    """The chat dataset's report matches the API; the split form makes the parts; answer them."""
    report = get(client, headers, f"/v1/datasets/{chat['id']}/report")
    histogram = page.locator("#token-histogram li")
    assert len(report["tokens"]["histogram"]) > 1  # linear buckets, not one power of two
    expect(histogram).to_have_count(len(report["tokens"]["histogram"]))
    for shown, bucket in zip(histogram.all(), report["tokens"]["histogram"], strict=True):
        expect(shown.locator(".bar-value")).to_have_text(str(bucket["count"]))
        expect(shown.locator(".bar-label")).to_have_text(
            f"{bucket['ge']:,}–{bucket['le']:,}" if bucket["ge"] < bucket["le"]
            else f"{bucket['le']:,}")
    total = sum(report["labels"]["counts"].values())
    for label, count in report["labels"]["counts"].items():
        expect(page.locator("#label-bars li").filter(has_text=label).locator(".bar-value")
               ).to_have_text(f"{count} ({100 * count / total:.1f} %)")
    expect(page.locator("#report-estimate")).to_contain_text(usd(report["estimate"]["cost_usd"]))
    expect(page.locator("#rows-where")).to_have_text(f"Rows 1–5 of {chat['rows']}")
    page.get_by_role("button", name="Next rows").click()
    expect(page.locator("#rows-where")).to_have_text(f"Rows 6–10 of {chat['rows']}")
    second_page = get(client, headers, f"/v1/datasets/{chat['id']}/rows?offset=5&limit=1")
    expect(page.locator("#rows-list li").first.locator(".message.assistant .content")).to_have_text(
        second_page["data"][0]["data"]["messages"][-1]["content"])
    check_page(page, "dataset-chat")

    page.get_by_label("Strategy").select_option("stratified")
    page.get_by_role("button", name="Split", exact=True).click()
    made = page.locator("#split-result li")
    expect(made).to_have_count(3)
    listed = get(client, headers, "/v1/datasets?limit=100")["data"]
    parts = {d["derived_by"].split(":")[1]: d for d in listed if d["parent_id"] == chat["id"]}
    assert sorted(parts) == ["test", "train", "validation"]
    for part, dataset in parts.items():
        expect(page.locator(f'#split-result li[data-part="{part}"]')).to_contain_text(
            f"{dataset['name']} ({dataset['rows']} rows)")
    return parts


def test_the_whole_journey_in_the_browser(client, ctx, live_url, page, tmp_path):
    key, headers = new_key(client, "walkthrough")
    sign_in(page, live_url, key)
    chat = upload_and_convert(page, client, ctx, headers, tmp_path)
    parts = report_and_split(page, client, headers, chat)

    # The train part's page offers fine-tuning; the form pairs it with its validation part.
    page.locator('#split-result li[data-part="train"] a').click()
    page.get_by_role("link", name="Fine-tune on this dataset").click()
    expect(page.get_by_label("Training dataset")).to_have_value(parts["train"]["id"])
    expect(page.get_by_label("Validation dataset")).to_have_value(parts["validation"]["id"])
    page.get_by_label("Epochs").fill("2")
    page.get_by_label("Batch size").fill("4")
    page.get_by_label("Learning rate multiplier").fill("0.5")
    page.get_by_label("Suffix").fill("reflect")
    page.get_by_label("Budget (USD)").fill("5")
    body = {"model": MODEL, "training_dataset": parts["train"]["id"],
            "validation_dataset": parts["validation"]["id"], "suffix": "reflect",
            "method": {"type": "supervised", "supervised": {"hyperparameters": {
                "n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5}}},
            "max_cost_usd": 5, "dry_run": True}
    dry = client.post("/v1/jobs", headers=headers, json=body).json()
    page.get_by_role("button", name="Estimate cost").click()
    expect(page.locator("#job-estimate")).to_contain_text(usd(dry["estimate"]["cost_usd"]))
    expect(page.locator("#job-estimate")).to_contain_text(
        f"Billed tokens{dry['estimate']['billing_tokens']:,}")
    check_page(page, "jobs")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"#/jobs/job_\w+$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#stream-state")).to_have_text("Following events live.")
    page.evaluate(WATCH_POINTS)

    def finished() -> Any:
        job = get(client, headers, f"/v1/jobs/{job_id}")
        return job if job["status"] in TERMINAL else None

    job = drive_jobs(ctx, finished, timeout=120)
    assert job["status"] == "succeeded", job
    expect(page.locator("#stream-state")).to_have_text("The job ended: succeeded.")
    metrics = get(client, headers, f"/v1/jobs/{job_id}/metrics")["data"]
    points = sum(row[name] is not None for row in metrics
                 for name in ("train_loss", "valid_loss", "full_valid_loss"))
    expect(page.locator("#loss-chart")).to_have_attribute("data-points", str(points))
    seen = page.evaluate("window.pointsSeen")
    assert len(seen) >= 3, seen
    assert seen == sorted(seen), seen
    assert seen[-1] == points, seen
    expect(page.locator("#job-facts")).to_contain_text("Statussucceeded")
    expect(page.locator("#job-facts")).to_contain_text(
        f"Training dataset{parts['train']['name']}")
    expect(page.locator("#job-timeline li").last).to_have_text(re.compile("^succeeded"))
    used = page.locator("#job-hyperparameters tbody tr")
    for label, name in (("Epochs", "n_epochs"), ("Batch size", "batch_size"),
                        ("Learning rate multiplier", "learning_rate_multiplier")):
        expect(used.filter(has_text=label).locator("td").nth(2)).to_have_text(
            str(job["hyperparameters"][name]))
    checkpoints = get(client, headers, f"/v1/jobs/{job_id}/checkpoints")["data"]
    shown = page.locator("#job-checkpoints tbody tr")
    expect(shown).to_have_count(len(checkpoints))
    for row, checkpoint in zip(shown.all(), checkpoints, strict=True):
        expect(row.locator("td").nth(0)).to_have_text(str(checkpoint["step_number"]))
        expect(row.locator("td").nth(2)).to_have_text(f"{checkpoint['metrics']['train_loss']:.3f}")

    # Hovering the loss chart shows the values of the step under the pointer.
    over = page.locator("#loss-chart .u-over")
    over.hover()
    legend = page.locator("#loss-chart .u-legend .u-value")
    expect(legend.first).not_to_have_text("—")
    step = int(legend.first.inner_text().replace(",", ""))
    at_step = next(row for row in metrics if row["step"] == step)
    expect(legend.nth(1)).to_have_text(f"{at_step['train_loss']:.3f}")
    expect(page.locator("#accuracy-chart")).to_have_attribute("data-points", str(sum(
        row[name] is not None for row in metrics for name in (
            "train_mean_token_accuracy", "valid_mean_token_accuracy",
            "full_valid_mean_token_accuracy"))))
    check_page(page, "job")

    # Evaluate from the job: its test split is preselected.
    page.get_by_role("link", name="Evaluate this model").click()
    expect(page.get_by_label("Job", exact=True)).to_have_value(job_id)
    expect(page.get_by_label("Test dataset")).to_have_value(parts["test"]["id"])
    check_page(page, "evaluations")
    page.get_by_label("Max examples").fill("12")
    page.get_by_role("button", name="Start evaluation").click()
    expect(page).to_have_url(re.compile(r"#/evaluations/eval_\w+$"))
    evaluation = run_evaluation(client, ctx, headers, page.url.rsplit("/", 1)[1])
    assert evaluation["status"] == "succeeded", evaluation
    check_evaluation(page, client, headers, evaluation)
    check_page(page, "evaluation")

    chat_side_by_side(page, client, headers, job)
    check_page(page, "playground")

    page.get_by_role("link", name="Models", exact=True).click()
    tuned = job["fine_tuned_model"]
    expect(page.locator("#models-table tbody tr td:first-child")).to_have_text([tuned])  # no bases
    check_page(page, "models")
    page.get_by_role("button", name=f"Delete {tuned}").click()
    expect(page.locator("#notice")).to_have_text(f"Deleted {tuned}.")
    expect(page.get_by_text("No fine-tuned models yet.")).to_be_visible()
    assert {m["owned_by"] for m in get(client, headers, "/v1/models")["data"]} == {"openai"}


def check_evaluation(page: Any, client: Any, headers: dict[str, str],
                     evaluation: dict[str, Any]) -> None:
    """Scores, confusion-matrix cells, per-label F1, flips and wrong answers as the API has them."""
    results = page.locator("#evaluation-results tbody tr")
    expect(results).to_have_count(2)
    for row, model in zip(results.all(), evaluation["models"], strict=True):
        scores = evaluation["results"][model]
        expect(row.locator("td").first).to_have_text(model)
        shown = number_in(row.locator("td").nth(1).inner_text())
        assert abs(shown - 100 * scores["accuracy"]) < 0.051
        card = page.locator(f'.model-card[data-model="{model}"]')
        matrix = scores["confusion_matrix"]
        for i, expected in enumerate(matrix["labels"]):
            for j, predicted in enumerate(matrix["labels"]):
                cell = card.locator(f'td[data-expected="{expected}"][data-predicted="{predicted}"]')
                expect(cell).to_have_text(str(matrix["matrix"][i][j]))
        for label, label_scores in scores["per_label"].items():
            expect(card.locator(".per-label tbody tr").filter(
                has=page.locator("td").first.filter(has_text=re.compile(f"^{re.escape(label)}$"))
            ).locator("td").nth(3)).to_have_text(f"{label_scores['f1']:.3f}")
        wrong = get(client, headers, f"/v1/evaluations/{evaluation['id']}/predictions"
                    f"?model={model}&correct=false&limit=20")["data"]
        rows = page.locator(f'.wrong[data-model="{model}"] tbody tr')
        expect(rows).to_have_count(len(wrong))
        if wrong:
            example = get(client, headers, f"/v1/datasets/{evaluation['dataset']}/rows"
                          f"?offset={wrong[0]['index']}&limit=1")["data"][0]["data"]
            assert wrong[0]["input"][-1] == example["messages"][1]  # the API's kept input
            expect(rows.first.locator("td.input")).to_have_text(example["messages"][1]["content"])
            expect(rows.first.locator("td").nth(2)).to_have_text(wrong[0]["expected"])
    flips = evaluation["comparison"]["flips"]
    expect(page.locator("#flips-text")).to_contain_text(
        f"fixed {flips['fixed']} that {evaluation['models'][1]} gets wrong, "
        f"and broke {flips['broken']}")
    mcnemar = page.locator("#mcnemar-text").inner_text().split("p = ", 1)[1]
    assert abs(number_in(mcnemar) - evaluation["comparison"]["mcnemar_p"]) < 0.00051, mcnemar


def chat_side_by_side(page: Any, client: Any, headers: dict[str, str], job: dict[str, Any]) -> None:
    """The same prompt to the base and the fine-tuned model; each answer and its usage as the
    API gives them for the same request."""
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.locator(f'#jobs-table tbody tr[data-id="{job["id"]}"] a').first.click()
    expect(page.locator("#stream-state")).to_have_text("The job ended: succeeded.")
    page.get_by_role("link", name="Chat with this model").click()
    expect(page).to_have_url(re.compile("#/playground"))
    base, tuned = page.locator('.pane[data-side="base"]'), page.locator('.pane[data-side="tuned"]')
    expect(page.get_by_label("Base model", exact=True)).to_have_value(job["model"])
    expect(page.get_by_label("Fine-tuned model", exact=True)).to_have_value(job["fine_tuned_model"])
    listed = get(client, headers, "/v1/models")["data"]
    chat_bases = [m["id"] for m in listed
                  if m["owned_by"] == "openai" and "embedding" not in m["id"]]
    assert job["model"] in chat_bases
    offered = page.locator("#chat-models option").evaluate_all(
        "options => options.map(o => o.value)")
    assert set(chat_bases) <= set(offered), offered
    assert not any("embedding" in m for m in offered), offered
    question = ('Question: """Which step surprised you?"""\n'
                'Reflection: """I checked the data first"""')
    page.get_by_label("System message").fill(SYSTEM)
    page.get_by_label("Temperature").fill("0")
    page.get_by_label("Max tokens").fill("30")
    page.get_by_label("Message", exact=True).fill(question)
    page.evaluate(WATCH_ANSWER)
    page.get_by_role("button", name="Send").click()
    for pane, model in ((base, job["model"]), (tuned, job["fine_tuned_model"])):
        whole = client.post("/v1/chat/completions", headers=headers, json={
            "model": model, "temperature": 0, "max_tokens": 30, "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": question}]}).json()
        expect(pane.locator(".message.assistant .content")).to_have_text(
            whole["choices"][0]["message"]["content"])
        usage = pane.locator(".message.assistant .usage")
        expect(usage).to_have_attribute("data-prompt-tokens", str(whole["usage"]["prompt_tokens"]))
        expect(usage).to_have_attribute("data-completion-tokens",
                                        str(whole["usage"]["completion_tokens"]))
        expect(usage).to_contain_text(re.compile(r"completion tokens · \d+\.\d\d s"))
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    # The base model's longer answer came in piece by piece, each piece a prefix of the whole.
    texts = [text for text in page.evaluate("window.answerTexts") if text]
    whole = base.locator(".message.assistant .content").inner_text()
    assert texts[-1] == whole, texts
    assert len(set(texts)) >= 3, texts
    assert all(whole.startswith(text) for text in texts), texts
