"""Many jobs at once stay cheap: nothing runs per job, state is computed from timestamps."""

import asyncio

import httpx
from openai import AsyncOpenAI

from tests.support.emulator_sdk import jsonl, labelled_examples

JOBS = 1000


async def create_many(aclient: AsyncOpenAI, count: int) -> list[str]:
    training = await aclient.files.create(file=("t.jsonl", jsonl(labelled_examples())),
                                          purpose="fine-tune")
    gate = asyncio.Semaphore(32)

    async def one(i: int) -> str:
        async with gate:
            job = await aclient.fine_tuning.jobs.create(
                model="gpt-4o-mini-2024-07-18", training_file=training.id,
                hyperparameters={"n_epochs": 1}, metadata={"i": str(i)})
            return job.id
    return await asyncio.gather(*(one(i) for i in range(count)))


async def test_a_thousand_active_jobs_at_once(aclient: AsyncOpenAI,
                                              aadmin: httpx.AsyncClient) -> None:
    (await aadmin.post("/config", json={"speed": 0.5})).raise_for_status()
    ids = await create_many(aclient, JOBS)
    stats = (await aadmin.get("/stats")).json()["jobs"]
    assert stats["total"] == JOBS
    assert set(stats["by_status"]) <= {"validating_files", "queued"}
    listed = [job.id async for job in aclient.fine_tuning.jobs.list(limit=100)]
    assert sorted(listed) == sorted(ids)
    found = await aclient.fine_tuning.jobs.list(metadata={"i": "500"})
    assert [job.id for job in found.data] == [ids[500]]


async def test_many_jobs_all_finish_with_their_models(aclient: AsyncOpenAI,
                                                      aadmin: httpx.AsyncClient) -> None:
    ids = await create_many(aclient, 300)
    for _ in range(400):
        stats = (await aadmin.get("/stats")).json()
        if stats["jobs"]["by_status"] == {"succeeded": 300}:
            break
        await asyncio.sleep(0.05)
    assert stats["jobs"]["by_status"] == {"succeeded": 300}
    assert stats["models"]["fine_tuned"] == 300
    assert stats["files"]["by_purpose"]["fine-tune-results"] == 300
    last = await aclient.fine_tuning.jobs.retrieve(ids[-1])
    assert last.fine_tuned_model
    assert last.result_files
