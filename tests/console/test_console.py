"""The web console in a real browser, against a live service on the emulator: the errors the API
answers, the key shared between tabs, a job's controls and the job form's dataset choices.
test_walkthrough.py follows the whole journey."""

import re
from typing import Any

import pytest

from service.jobs import sync
from tests.datagen import LEVELS, USER_TEMPLATE, reflections_csv
from tests.factories import chat_dataset, drive_jobs, ready_dataset, run_tasks, wait_until
from tests.support.browser import check_page, find_chromium
from tests.support.env import MODEL

if find_chromium() is None:
    pytest.skip("no Chromium executable found (apt-get install chromium, or set FTM_CHROMIUM)",
                allow_module_level=True)
expect = pytest.importorskip("playwright.sync_api",
                             reason="the playwright package is not installed").expect
# steps imports playwright, so it can only come once the skips above have run.
from tests.console.steps import new_key, sign_in, work  # noqa: E402

# Drops a file with the given text on the upload area, as a drag from the desktop would.
DROP = """(text) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], "broken.jsonl", {type: "application/jsonl"}));
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type,
                                     {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


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
    page.get_by_label("Base model", exact=True).fill("")  # one side only
    page.get_by_label("Fine-tuned model", exact=True).fill("ft:gpt-4o-mini-2024-07-18:nobody:x:1")
    page.get_by_label("Message", exact=True).fill("Hello?")
    page.get_by_role("button", name="Send").click()
    expect(alert).to_contain_text("model_not_found")
    expect(page.locator('.pane[data-side="tuned"] .message.assistant .content')).to_have_text(
        "[no answer]")
    expect(page.locator('.pane[data-side="base"] .message')).to_have_count(0)
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
    check_page(page, "job-pending")
    page.get_by_role("button", name="Cancel job").click()  # the confirmation is accepted
    expect(page.locator("#stream-state")).to_have_text("The job ended: cancelled.")
    expect(page.locator("#job-facts")).to_contain_text("Statuscancelled")
    expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()
    expect(page.locator("#job-events li").last).to_contain_text("to cancelled")
    assert client.get(f"/v1/jobs/{job_id}", headers=headers).json()["status"] == "cancelled"


def test_the_key_reaches_a_new_tab_of_the_session_and_is_forgotten_in_all(client, live_url, page):
    key, _ = new_key(client, "tabs")
    sign_in(page, live_url, key)
    second = page.context.new_page()
    second.goto(f"{live_url}/console#/jobs")
    expect(second.locator("#key-state")).to_have_text("Key in use for this session.")
    expect(second.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    assert key not in second.url
    assert second.evaluate("Object.values(sessionStorage)") == [key]

    second.get_by_role("button", name="Forget key").click()
    expect(page.locator("#key-state")).to_have_text("No key yet.")
    expect(page.locator("#view")).to_have_text("Paste an API key above to start.")
    assert page.evaluate("sessionStorage.length") == 0
    second.close()


def test_lineage_lists_the_datasets_made_from_one(client, ctx, live_url, page):
    key, headers = new_key(client, "lineage")
    parent = chat_dataset(client, ctx, headers, 12)
    made = client.post(f"/v1/datasets/{parent}/split", headers=headers, json={
        "strategy": "random", "fractions": {"train": 0.5, "test": 0.5}, "seed": 1}).json()
    chat_dataset(client, ctx, headers, 12)  # another dataset, made from nothing
    derived = client.get(f"/v1/datasets?parent_id={parent}", headers=headers).json()["data"]
    assert {d["id"] for d in derived} == {d["id"] for d in made["splits"].values()}
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, live_url, key)
    page.goto(f"{live_url}/console#/datasets/{parent}")
    expect(page.locator("#lineage li")).to_have_count(2)
    for shown, child in zip(page.locator("#lineage li").all(), derived, strict=True):
        expect(shown).to_contain_text(
            f"{child['name']} {child['id']} ({child['derived_by']}, {child['rows']} rows)")
    assert any(f"parent_id={parent}" in url for url in requested), requested
    page.goto(f"{live_url}/console#/datasets/{derived[0]['id']}")
    expect(page.locator("#lineage")).to_contain_text("No dataset was made from this one yet.")
    expect(page.locator("#lineage")).to_contain_text(f"by {derived[0]['derived_by']}")


def test_fine_tuning_an_invalid_dataset_preselects_no_other(client, ctx, live_url, page):
    key, headers = new_key(client, "invalid")
    ready = chat_dataset(client, ctx, headers, 12)
    sign_in(page, live_url, key)
    # A file dropped on the upload area is uploaded, its progress shown until done.
    expect(page.locator("#dropzone")).to_be_visible()
    page.evaluate(DROP, '{"messages": [{"role": "user", "content": "hi"}]}\nnope\n')
    page.get_by_label("Name", exact=True).fill("broken")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#notice")).to_contain_text("Uploaded broken as ds_")
    expect(page.locator("#upload-progress")).to_be_hidden()
    assert page.locator("#upload-progress").evaluate("bar => bar.value") == 100
    broken = client.get("/v1/datasets?limit=1", headers=headers).json()["data"][0]["id"]
    run_tasks(ctx)
    assert client.get(f"/v1/datasets/{broken}", headers=headers).json()["status"] == "invalid"
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_url}/console#/datasets/{broken}")
    expect(page.get_by_role("heading", name="Dataset broken")).to_be_visible()
    expect(page.locator("#report-errors tbody tr td:last-child")).to_have_text(
        ['{"messages": [{"role": "user", "content": "hi"}]}', "nope"])
    assert not [url for url in requested if url.endswith("/content")], requested  # from the report
    expect(page.get_by_role("link", name="Fine-tune on this dataset")).to_have_count(0)
    check_page(page, "dataset-invalid")

    page.goto(f"{live_url}/console#/jobs?training={broken}")
    expect(page.locator("#job-training-note")).to_contain_text("Dataset broken is invalid")
    expect(page.get_by_label("Training dataset")).to_have_value("")
    page.get_by_role("button", name="Create job").click()  # the browser refuses: none chosen
    assert page.get_by_label("Training dataset").evaluate("select => select.validity.valueMissing")
    assert client.get("/v1/jobs", headers=headers).json()["data"] == []
    page.get_by_label("Training dataset").select_option(ready)
    expect(page.get_by_label("Validation dataset")).to_have_value("")
    expect(page.get_by_label("Beta (DPO)")).to_be_hidden()
    page.get_by_label("Method").select_option("dpo")
    expect(page.get_by_label("Beta (DPO)")).to_be_visible()


def test_a_csv_runs_the_whole_pipeline_in_one_click(client, ctx, live_url, page, tmp_path):
    key, headers = new_key(client, "pipeline")
    data = reflections_csv(tmp_path / "reflections.csv", rows=120)
    csv_id = ready_dataset(client, ctx, headers, data.path, name="reflections")["id"]
    sign_in(page, live_url, key)
    page.goto(f"{live_url}/console#/datasets/{csv_id}")
    page.get_by_label("User message template").fill(USER_TEMPLATE)
    page.get_by_label("Assistant message template").fill("{Final}")
    page.get_by_role("button", name="Add a value map").click()  # the last column: Final
    for value, level in LEVELS.items():
        page.get_by_label(f"Final value {value} becomes").fill(level)
    expect(page.locator("#convert-preview li").first.locator(".message.assistant")).to_be_visible()
    page.get_by_label("Evaluate the fine-tuned model against its base").uncheck()
    page.get_by_role("button", name="Run the pipeline").click()
    expect(page).to_have_url(re.compile(r"#/pipelines/pipe_\w+$"))
    pipeline_id = page.url.rsplit("/", 1)[1]

    def ended() -> Any:
        sync.sweep(ctx)
        work(ctx)
        pipeline = client.get(f"/v1/pipelines/{pipeline_id}", headers=headers).json()
        return pipeline if pipeline["status"] != "running" else None

    pipeline = wait_until(ended, timeout=120, every=0.05)
    assert pipeline["status"] == "succeeded", pipeline
    converted = client.get(f"/v1/datasets/{pipeline['steps'][0]['resource_id']}",
                           headers=headers).json()
    assert converted["conversion"]["converted"] == 120 - len(data.empty_answers)
    first = client.get(f"/v1/datasets/{converted['id']}/rows?limit=1", headers=headers).json()
    assert first["data"][0]["data"]["messages"][-1]["content"] == LEVELS[
        data.records[0]["Final"].strip()]
    expect(page.locator("#pipeline-facts")).to_contain_text("Statussucceeded")
    steps = page.locator("#pipeline-steps li")
    expect(steps).to_have_count(len(pipeline["steps"]))
    for shown, step in zip(steps.all(), pipeline["steps"], strict=True):
        expect(shown).to_contain_text(f"{step['name']} {step['status']} {step['resource_id']}")
    check_page(page, "pipeline")


def test_a_running_job_is_paused_and_resumed_from_its_page(client, ctx, live_url, page):
    key, headers = new_key(client, "pause")
    dataset = chat_dataset(client, ctx, headers, 30)
    created = client.post("/v1/jobs", headers=headers, json={
        "model": MODEL, "training_dataset": dataset,
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 10}}}})
    job_id = created.json()["id"]
    sign_in(page, live_url, key)
    page.goto(f"{live_url}/console#/jobs/{job_id}")
    badge = page.locator("#job-facts .badge")

    def status_is(wanted: str):
        def check() -> Any:
            job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
            return job if job["status"] == wanted else None
        return check

    drive_jobs(ctx, status_is("running"), timeout=60)
    expect(badge).to_have_text("running")  # from the event stream
    page.get_by_role("button", name="Pause job").click()
    drive_jobs(ctx, status_is("paused"), timeout=60)
    expect(badge).to_have_text("paused")
    expect(page.locator("#job-timeline li").last).to_have_text(re.compile("^paused"))
    expect(page.get_by_role("button", name="Pause job")).to_be_hidden()
    check_page(page, "job-paused")
    page.get_by_role("button", name="Resume job").click()
    drive_jobs(ctx, status_is("running"), timeout=60)
    expect(badge).to_have_text("running")
    expect(page.get_by_role("button", name="Resume job")).to_be_hidden()
