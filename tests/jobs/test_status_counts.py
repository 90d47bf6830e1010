"""The jobs-by-status counts stay equal to a fresh count of the jobs through a randomized run of
launches, capacity holds, cancels, pauses, resumes and syncs."""

import random
from collections import Counter

import httpx

from service.jobs import index, sync
from service.jobs.models import TERMINAL, Job, JobStatus
from tests.factories import chat_dataset, drive_jobs, run_tasks

MODEL = "gpt-4o-mini-2024-07-18"
OPERATIONS = 40


def fresh_count(ctx) -> dict[JobStatus, int]:
    counted = Counter(job.status for job in ctx.store.scan(Job, None))
    return {status: counted.get(status, 0) for status in JobStatus}


def set_capacity(emulator: str, limit: int | None) -> None:
    httpx.post(emulator.removesuffix("/v1") + "/__emulator/faults",
               json={"active_job_limit": limit}).raise_for_status()


def jobs_in(ctx, *statuses: JobStatus) -> list[Job]:
    return sorted((job for job in ctx.store.scan(Job, None) if job.status in statuses),
                  key=lambda job: job.id)


def test_counts_by_status_equal_a_fresh_count_after_a_random_run(client, ctx, auth, emulator):
    rng = random.Random(13)
    train = chat_dataset(client, ctx, auth)
    active = [s for s in JobStatus if s not in TERMINAL]

    def launch() -> None:
        response = client.post("/v1/jobs", headers=auth,
                               json={"model": MODEL, "training_dataset": train})
        assert response.status_code == 202, response.text
        run_tasks(ctx)

    def hold_for_capacity() -> None:
        set_capacity(emulator, rng.choice([0, 1, 2, None]))

    def ask(action: str, *statuses: JobStatus) -> None:
        candidates = jobs_in(ctx, *statuses)
        if candidates:
            job = rng.choice(candidates)
            response = client.post(f"/v1/jobs/{job.id}/{action}", headers=auth)
            assert response.status_code == 202, response.text
            asked[action] += 1
            run_tasks(ctx)

    def cancel() -> None:
        ask("cancel", *active)

    def pause() -> None:
        ask("pause", JobStatus.running)

    def resume() -> None:
        ask("resume", JobStatus.paused)

    def sync_once() -> None:
        sync.sweep(ctx)
        run_tasks(ctx)

    operations = [launch, launch, launch, hold_for_capacity, sync_once, sync_once, sync_once,
                  cancel, pause, resume]
    seen: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    held: set[str] = set()
    for _ in range(OPERATIONS):
        operation = rng.choice(operations)
        operation()
        seen[operation.__name__] += 1
        held.update(job.id for job in jobs_in(ctx, JobStatus.pending)
                    if job.pending_reason == "provider_capacity")
        assert index.status_counts(ctx) == fresh_count(ctx)

    assert seen["launch"] > 5, seen
    assert held, "no launch was held for capacity"
    assert asked["cancel"] > 0, asked
    if not asked["pause"]:  # no job was running whenever the run paused: pause one now
        set_capacity(emulator, None)
        launch()
        seen["launch"] += 1
        drive_jobs(ctx, lambda: jobs_in(ctx, JobStatus.running), timeout=120)
        pause()
        assert index.status_counts(ctx) == fresh_count(ctx)
    assert asked["pause"] > 0, asked

    set_capacity(emulator, None)
    for job in jobs_in(ctx, JobStatus.paused):
        client.post(f"/v1/jobs/{job.id}/resume", headers=auth)
    drive_jobs(ctx, lambda: not jobs_in(ctx, *active), timeout=120)
    assert index.status_counts(ctx) == fresh_count(ctx)
    assert sum(fresh_count(ctx).values()) == seen["launch"]
