"""Online mode: ask each model for each example, `concurrency` requests in flight at most.

Every request goes through the provider (the deployment's shared rate cap and its retries).
Each answer is stored the moment it arrives, and an example already answered is never asked
again, so a run that dies anywhere loses at most the requests it had in flight. A watcher
renews the run's lease, stops it when the client cancels, and ends the slice after
`evaluation_slice_seconds` (the task then queues the next slice).
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import redis

from service import faults
from service.context import Context
from service.errors import ProviderError
from service.evaluations import examples, predictions, states
from service.evaluations.examples import Example
from service.evaluations.models import Evaluation, RunOutcome
from service.logs import log
from service.provider.base import ChatSession
from service.store.locks import Lease

FAULT_AFTER = 10  # answers stored by one run before the test fault point fires


@dataclass
class Run:
    ctx: Context
    evaluation: Evaluation
    chat: ChatSession
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    reason: Literal["cancelled", "lost", "slice", "broken"] | None = None
    stored: int = 0
    in_flight: set["asyncio.Task[None]"] = field(default_factory=set)
    broken: BaseException | None = None

    def halt(self, reason: Literal["cancelled", "lost", "slice", "broken"]) -> None:
        self.reason = self.reason or reason
        self.stop.set()

    def track(self, task: "asyncio.Task[None]") -> None:
        self.in_flight.add(task)
        task.add_done_callback(self.done)

    def done(self, task: "asyncio.Task[None]") -> None:
        self.in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None and self.broken is None:
            self.broken = task.exception()  # not a provider error: a bug or Redis gone
            self.halt("broken")


def run(ctx: Context, evaluation: Evaluation, lease: Lease) -> RunOutcome:
    """Ask for every missing answer; next_slice when the slice ran out first."""
    return asyncio.run(run_async(ctx, evaluation, lease))


async def run_async(ctx: Context, evaluation: Evaluation, lease: Lease) -> RunOutcome:
    current = Run(ctx, evaluation, ctx.provider.open_chat())
    watcher = asyncio.create_task(watch(current, lease))
    try:
        await ask_all(current)
    finally:
        watcher.cancel()
        await current.chat.close()
    if current.broken is not None:
        raise current.broken
    log.info("evaluation.online.slice", evaluation_id=evaluation.id, stored=current.stored,
             stopped=current.reason)
    if current.reason in ("cancelled", "lost"):
        return RunOutcome.stopped
    return RunOutcome.next_slice if current.reason == "slice" else RunOutcome.finished


async def ask_all(run: Run) -> None:
    evaluation, ctx = run.evaluation, run.ctx
    semaphore = asyncio.Semaphore(evaluation.concurrency)
    for example in examples.examples(ctx, evaluation.dataset, evaluation.max_examples):
        for model in predictions.unanswered(ctx, evaluation.id, evaluation.models,
                                            example.index):
            await semaphore.acquire()
            if run.stop.is_set():
                semaphore.release()
                break
            run.track(asyncio.create_task(ask(run, model, example, semaphore)))
        if run.stop.is_set():
            break
    if run.reason in ("cancelled", "lost", "broken"):
        for task in run.in_flight:
            task.cancel()  # their answers would be thrown away (or stored twice)
    await asyncio.gather(*run.in_flight, return_exceptions=True)


async def ask(run: Run, model: str, example: Example, semaphore: asyncio.Semaphore) -> None:
    evaluation, ctx = run.evaluation, run.ctx
    try:
        body = examples.chat_request(model, example, evaluation.temperature,
                                     evaluation.max_tokens)
        stored = await complete(run, body, example.truth)
        if predictions.save(ctx, evaluation.id, model, example.index, stored):
            run.stored += 1
            if run.stored == FAULT_AFTER:
                faults.point(ctx, "evaluation.after_some")
    finally:
        semaphore.release()


async def complete(run: Run, body: dict[str, Any], truth: str) -> dict[str, Any]:
    """The stored answer: the completion, or the error that outlived the provider's retries."""
    try:
        completion, ms = await run.chat.complete(body)
    except ProviderError as exc:
        return predictions.failed(truth, exc.code, exc.detail)
    output = completion.choices[0].message.content if completion.choices else None
    return predictions.answered(truth, output, ms, completion.usage)


async def watch(run: Run, lease: Lease) -> None:
    """Renew the lease; stop the run when cancelled, when the lease was lost, when time is up."""
    ctx, evaluation_id = run.ctx, run.evaluation.id
    every = min(1.0, lease.ttl / 3)
    deadline = time.monotonic() + ctx.settings.evaluation_slice_seconds
    while not run.stop.is_set():
        await asyncio.sleep(every)
        try:
            cancelled, renewed = states.is_cancelled(ctx, evaluation_id), lease.renew()
        except redis.RedisError:
            cancelled, renewed = False, False
        if cancelled:
            run.halt("cancelled")
        elif not renewed:
            log.warning("evaluation.lease_lost", evaluation_id=evaluation_id)
            run.halt("lost")
        elif time.monotonic() > deadline:
            run.halt("slice")
