"""The web console in a real browser, against a live service on the emulator: a key, datasets and
their report, a job followed live to its loss chart, an evaluation, models, the playground's
streamed answer, and the errors the API answers."""

import re
import threading
from typing import Any

import pytest
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from tests.conftest import new_project_key
from tests.console.conftest import find_chromium
from tests.factories import chat_dataset, chat_lines, drive_jobs, run_tasks, wait_until
from worker.context import use_context

if find_chromium() is None:
    pytest.skip("no Chromium executable found (apt-get install chromium, or set FTM_CHROMIUM)",
                allow_module_level=True)
expect = pytest.importorskip("playwright.sync_api",
                             reason="the playwright package is not installed").expect

MODEL = "gpt-4o-mini-2024-07-18"
# Several words each, so a streamed answer comes in several chunks.
ANSWERS = ("The sentiment is clearly positive", "The sentiment is clearly negative",
           "Neither good nor bad, so neutral")
TERMINAL = ("succeeded", "failed", "cancelled")
# Counts the pixels of the train-loss line's colour (#1d4ed8) on the chart.
LINE_PIXELS = """() => {
  const canvas = document.getElementById("loss-chart");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] === 0x1d && data[i + 1] === 0x4e && data[i + 2] === 0xd8 && data[i + 3] === 255) {
      count += 1;
    }
  }
  return count;
}"""
# Records every text the assistant's answer is given, in order (each assignment inserts a new
# text node, whose data stays what was assigned however late the observer runs).
WATCH_ANSWER = """() => {
  window.answerTexts = [];
  new MutationObserver((records) => {
    for (const record of records) {
      if (!(record.target.closest && record.target.closest(".message.assistant"))) continue;
      for (const node of record.addedNodes) {
        if (node.nodeType === Node.TEXT_NODE) window.answerTexts.push(node.data);
      }
    }
  }).observe(document.getElementById("chat-transcript"), {childList: true, subtree: true});
}"""


def sign_in(page: Any, live_url: str, key: str) -> None:
    page.goto(f"{live_url}/console")
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#key-state")).to_have_text("Key in use for this tab.")


def new_key(client: Any, name: str) -> tuple[str, dict[str, str]]:
    _, headers = new_project_key(client, name)
    return headers["Authorization"].removeprefix("Bearer "), headers


def usd(value: float) -> str:
    return f"${value:.4f}"


def number_in(text: str) -> float:
    found = re.search(r"-?\d+(\.\d+)?", text)
    assert found, text
    return float(found.group())


def all_events(client: Any, headers: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    page = client.get(f"/v1/jobs/{job_id}/events?limit=100", headers=headers).json()
    events = page["data"]
    while page["has_more"]:
        page = client.get(f"/v1/jobs/{job_id}/events?limit=100&after={page['last_id']}",
                          headers=headers).json()
        events += page["data"]
    return events


class ThreadWorker(SimpleWorker):
    """A worker off the main thread, where Playwright's event loop runs (evaluations call
    asyncio.run); signals work only on the main thread, so time limits use a timer."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def run_evaluation(client: Any, ctx: Any, headers: dict[str, str], evaluation_id: str) -> Any:
    """Run queued and scheduled tasks until the evaluation ends; answer it."""
    def work() -> None:
        use_context(ctx)
        ThreadWorker(ctx.queues, connection=ctx.redis).work(
            burst=True, with_scheduler=True, logging_level="WARNING")

    def ended() -> Any:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        current = client.get(f"/v1/evaluations/{evaluation_id}", headers=headers).json()
        return current if current["status"] in TERMINAL else None

    return wait_until(ended, timeout=120, every=0.05)


def test_console_from_upload_to_playground(client, ctx, live_url, page, tmp_path):
    key, headers = new_key(client, "console")
    sign_in(page, live_url, key)
    expect(page.get_by_role("heading", name="Datasets", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Datasets")).to_have_attribute("aria-current", "page")

    # Upload a good chat dataset and one with two broken lines, through the file input.
    good = tmp_path / "reviews.jsonl"
    good.write_text(chat_lines(30, ANSWERS))
    bad = tmp_path / "broken.jsonl"
    no_answer = '{"messages": [{"role": "user", "content": "hi"}]}\n'
    bad.write_text(chat_lines(3) + "not json\n" + no_answer)
    for path, name in ((good, "reviews"), (bad, "broken")):
        page.get_by_label("File (JSONL or CSV)").set_input_files(str(path))
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#notice")).to_contain_text(f"Uploaded {name} as ds_")
    rows = page.locator("#datasets-table tbody tr")
    good_row, bad_row = rows.filter(has_text="reviews"), rows.filter(has_text="broken")
    expect(good_row.locator("td").nth(3)).to_have_text("processing")
    expect(bad_row.locator("td").nth(3)).to_have_text("processing")
    good_id, bad_id = good_row.get_attribute("data-id"), bad_row.get_attribute("data-id")

    run_tasks(ctx)  # the validation a worker runs; the open list polls until it settles
    expect(good_row.locator("td").nth(3)).to_have_text("ready")
    expect(good_row.locator("td").nth(2)).to_have_text("chat")
    expect(good_row.locator("td").nth(4)).to_have_text("30")
    expect(bad_row.locator("td").nth(3)).to_have_text("invalid")

    # The broken dataset's report names the failing lines.
    bad_report = client.get(f"/v1/datasets/{bad_id}/report", headers=headers).json()
    failing = [str(sample["line"]) for sample in bad_report["errors"]["samples"]]
    assert failing == ["4", "5"], bad_report["errors"]
    bad_row.get_by_role("link", name="broken").click()
    expect(page.get_by_role("heading", name="Dataset broken")).to_be_visible()
    errors = page.locator("#report-errors")
    expect(errors.locator("tbody tr td:first-child")).to_have_text(failing)
    for code, count in bad_report["errors"]["counts"].items():
        if count:
            expect(errors).to_contain_text(f"{code}: {count}")
    expect(page.locator("#dataset-facts")).to_contain_text("2 of 5 examples have errors")

    # The good one's report: no errors, its token sum and its cost as the API computes them.
    page.get_by_role("link", name="← All datasets").click()
    good_row.get_by_role("link", name="reviews").click()
    report = client.get(f"/v1/datasets/{good_id}/report", headers=headers).json()
    expect(page.locator("#report-summary")).to_contain_text(
        f"Valid examples{report['valid_examples']}")
    expect(page.locator("#report-errors")).to_contain_text("None.")
    expect(page.locator("#report-tokens tbody tr").first.locator("td").last).to_have_text(
        str(report["tokens"]["total"]["sum"]))
    expect(page.locator("#report-estimate")).to_contain_text(usd(report["estimate"]["cost_usd"]))

    # A job from this dataset: priced first, then created and followed live to the end.
    page.get_by_role("link", name="Fine-tune on this dataset").click()
    expect(page.get_by_label("Training dataset")).to_have_value(good_id)
    page.get_by_label("Suffix").fill("console")
    page.get_by_role("button", name="Estimate cost").click()
    dry = client.post("/v1/jobs", headers=headers, json={
        "model": MODEL, "training_dataset": good_id, "suffix": "console", "dry_run": True}).json()
    expect(page.locator("#job-estimate")).to_contain_text(usd(dry["estimate"]["cost_usd"]))
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"#/jobs/job_\w+$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#stream-state")).to_have_text("Following events live.")

    def finished() -> Any:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        return job if job["status"] in TERMINAL else None

    job = drive_jobs(ctx, finished, timeout=120)
    assert job["status"] == "succeeded", job
    tuned = job["fine_tuned_model"]
    expect(page.locator("#stream-state")).to_have_text("The job ended: succeeded.")
    facts = page.locator("#job-facts")
    expect(facts).to_contain_text("Statussucceeded")
    expect(facts).to_contain_text(tuned)
    expect(page.locator("#job-progress")).to_have_js_property("value", 100)
    expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()
    shown = [e for e in all_events(client, headers, job_id) if e["type"] != "metrics"]
    expect(page.locator("#job-events li")).to_have_count(len(shown))
    expect(page.locator("#job-events li").last).to_contain_text(shown[-1]["message"])
    # The loss chart: every metric point drawn, the curve in the train-loss colour.
    metrics = client.get(f"/v1/jobs/{job_id}/metrics", headers=headers).json()["data"]
    points = sum(row[name] is not None for row in metrics for name in ("train_loss", "valid_loss"))
    assert points > 1, metrics
    expect(page.locator("#loss-chart")).to_have_attribute("data-points", str(points))
    expect(page.locator("#loss-summary")).to_contain_text(f"{len(metrics)} steps; train loss ")
    assert page.evaluate(LINE_PIXELS) > 200

    # The jobs list shows it succeeded.
    page.get_by_role("link", name="Jobs", exact=True).click()
    job_row = page.locator(f'#jobs-table tbody tr[data-id="{job_id}"]')
    expect(job_row.locator("td").nth(1)).to_have_text("succeeded")
    expect(job_row.locator("td").nth(5)).to_have_text(tuned)

    # An evaluation of the job: the fine-tuned model against its base, per model and compared.
    page.get_by_role("link", name="Evaluations", exact=True).click()
    page.get_by_label("Test dataset").select_option(good_id)
    page.get_by_label("Job", exact=True).select_option(job_id)
    page.get_by_label("Max examples").fill("6")
    page.get_by_role("button", name="Start evaluation").click()
    expect(page).to_have_url(re.compile(r"#/evaluations/eval_\w+$"))
    evaluation = run_evaluation(client, ctx, headers, page.url.rsplit("/", 1)[1])
    assert evaluation["status"] == "succeeded", evaluation
    results = page.locator("#evaluation-results tbody tr")
    expect(results).to_have_count(2)
    for row, model in zip(results.all(), evaluation["models"], strict=True):
        scores = evaluation["results"][model]
        expect(row.locator("td").first).to_have_text(model)
        cells = row.locator("td")
        # Shown rounded: accuracy as a percentage to 0.1, macro-F1 to 0.001.
        assert abs(number_in(cells.nth(1).inner_text()) - 100 * scores["accuracy"]) < 0.051
        assert abs(number_in(cells.nth(2).inner_text()) - scores["macro_f1"]) < 0.00051
    expect(page.locator("#evaluation-comparison")).to_contain_text(
        f"Best model{evaluation['comparison']['best_model']}")
    expect(page.locator("#evaluation-comparison")).to_contain_text(
        f"Fixed (first right, second wrong){evaluation['comparison']['flips']['fixed']}")

    # Models: the fine-tuned one, and from there the playground.
    page.get_by_role("link", name="Models", exact=True).click()
    model_rows = page.locator("#models-table tbody tr")
    expect(model_rows).to_have_count(1)
    expect(model_rows.locator("td").first).to_have_text(tuned)
    model_rows.get_by_role("link", name="Chat").click()
    expect(page.get_by_label("Model", exact=True)).to_have_value(tuned)

    # The playground streams the answer into the page piece by piece.
    question = "Example number 1 is the sentiment is clearly negative"
    messages = [{"role": "system", "content": "Classify."}, {"role": "user", "content": question}]
    whole = client.post("/v1/chat/completions", headers=headers,
                        json={"model": tuned, "messages": messages}).json()
    expected = whole["choices"][0]["message"]["content"]
    assert len(expected.split()) > 2, expected
    page.evaluate(WATCH_ANSWER)
    page.get_by_label("System message").fill("Classify.")
    page.get_by_label("Message", exact=True).fill(messages[1]["content"])
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".message.assistant .content")
    expect(answer).to_have_text(expected)
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    texts = [text for text in page.evaluate("window.answerTexts") if text]
    assert texts[-1] == expected and len(set(texts)) >= 3, texts
    assert all(expected.startswith(text) for text in texts), texts
    expect(page.locator(".message.user .content")).to_have_text(messages[1]["content"])

    # Deleting the model (the confirmation is accepted) empties the list.
    page.get_by_role("link", name="Models", exact=True).click()
    page.get_by_role("button", name=f"Delete {tuned}").click()
    expect(page.locator("#notice")).to_have_text(f"Deleted {tuned}.")
    expect(page.get_by_text("No fine-tuned models yet.")).to_be_visible()
    assert client.get("/v1/models", headers=headers).json()["data"] == []


def test_console_shows_the_api_errors(client, ctx, live_url, page):
    page.goto(f"{live_url}/console")
    alert = page.get_by_role("alert")
    page.get_by_label("API key", exact=True).fill("not-a-key")
    page.get_by_role("button", name="Use key").click()
    expect(alert).to_contain_text("Invalid API key.")
    expect(alert).to_contain_text("unauthorized")
    expect(page.locator("#key-state")).to_have_text("No key yet.")
    expect(page.locator("#view")).to_have_text("Paste an API key above to start.")
    assert page.evaluate("sessionStorage.length") == 0

    # With a right key the alert goes; a refused job shows the problem's detail and code.
    key, headers = new_key(client, "errors")
    dataset = chat_dataset(client, ctx, headers, 12)
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Use key").click()
    expect(alert).to_be_hidden()
    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.get_by_label("Training dataset")).to_have_value(dataset)
    # The browser itself refuses a suffix the API would refuse.
    page.get_by_label("Suffix").fill("not a suffix!")
    assert page.get_by_label("Suffix").evaluate("input => input.validity.patternMismatch")
    page.get_by_label("Suffix").fill("")
    page.get_by_label("Base model").fill("gpt-nope")
    page.get_by_role("button", name="Create job").click()
    refused = client.post("/v1/jobs", headers=headers,
                          json={"model": "gpt-nope", "training_dataset": dataset})
    assert refused.status_code == 422, refused.text
    expect(alert).to_contain_text(refused.json()["detail"])
    expect(alert).to_contain_text(refused.json()["code"])
    expect(page).to_have_url(re.compile(r"#/jobs$"))

    # The OpenAI-shaped error of the chat route, shown the same way; the alert can be dismissed.
    page.get_by_role("link", name="Playground").click()
    page.get_by_label("Model", exact=True).fill("ft:gpt-4o-mini-2024-07-18:nobody:x:1")
    page.get_by_label("Message", exact=True).fill("Hello?")
    page.get_by_role("button", name="Send").click()
    expect(alert).to_contain_text("model_not_found")
    expect(page.locator(".message.assistant .content")).to_have_text("[no answer]")
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_be_hidden()


def test_a_job_is_cancelled_from_its_page(client, ctx, live_url, page):
    key, headers = new_key(client, "cancel")
    dataset = chat_dataset(client, ctx, headers, 12)
    created = client.post("/v1/jobs", headers=headers,
                          json={"model": MODEL, "training_dataset": dataset})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]  # no worker runs: it stays pending until cancelled
    sign_in(page, live_url, key)
    page.goto(f"{live_url}/console#/jobs/{job_id}")
    expect(page.locator("#stream-state")).to_have_text("Following events live.")
    expect(page.locator("#job-facts")).to_contain_text("Statuspending")
    page.get_by_role("button", name="Cancel job").click()  # the confirmation is accepted
    expect(page.locator("#stream-state")).to_have_text("The job ended: cancelled.")
    expect(page.locator("#job-facts")).to_contain_text("Statuscancelled")
    expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()
    expect(page.locator("#job-events li").last).to_contain_text("to cancelled")
    assert client.get(f"/v1/jobs/{job_id}", headers=headers).json()["status"] == "cancelled"
