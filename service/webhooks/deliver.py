"""One event to one URL: a signed POST per attempt, retried with exponential backoff until a 2xx
answer or the last attempt. Delivery is at least once; receivers dedupe on webhook-id.

A receiver that times out holds a worker for the whole timeout, so it then rests for the first
retry delay: its other deliveries wait (no attempt counted) and the rest go ahead."""

import math
import time
from urllib.parse import urlsplit

import httpx

from service import clock
from service.context import Context
from service.logs import log
from service.metrics import WEBHOOK_DELIVERIES
from service.settings import Settings
from service.store import locks
from service.store.clients import Pipeline
from service.store.locks import LockName
from service.tasks import Task
from service.webhooks import repository, signing, targets
from service.webhooks.models import Attempt, Delivery, DeliveryStatus

LOCK_SECONDS = 120
GROWTH = 5  # 5 s, 25 s, ~2 min, ~10 min, ~52 min, ~4.3 h, then the cap
MAX_DELAY_SECONDS = 6 * 3600
OVERDUE_BATCH = 500
USER_AGENT = "finetune-manager-webhooks/0.1"
OUTCOMES = {DeliveryStatus.succeeded: "delivered", DeliveryStatus.pending: "retrying",
            DeliveryStatus.failed: "failed"}


def queue(ctx: Context, delivery: Delivery, body: str) -> None:
    """Record a pending delivery with the exact body every attempt sends; queue its first
    attempt."""
    def write(pipe: Pipeline) -> None:
        repository.save_delivery(pipe, delivery.id, delivery.webhook_id, body,
                                 delivery.created_at, clock.now_precise())

    ctx.store.create(delivery, delivery.project_id, also_write=write)
    ctx.enqueue(Task.deliver_webhook, delivery.id)


def run(ctx: Context, delivery_id: str) -> None:
    """Make the delivery's due attempt, record it, and schedule the next one if it failed.

    Safe to run twice: a finished delivery or one whose next attempt is not yet due is left alone.
    """
    with locks.hold(ctx.redis, LockName.deliver, delivery_id, ttl=LOCK_SECONDS) as held:
        if not held:
            return  # another worker is attempting it; the lock expires if that one dies
        delivery = ctx.store.get(Delivery, delivery_id)
        if (delivery is None or delivery.status != DeliveryStatus.pending
                or (delivery.next_attempt_at or 0) > clock.now()):
            return
        secret = signing.secret_for(ctx, delivery)
        body = repository.body(ctx.redis, delivery_id)
        if secret is None or body is None:
            give_up(ctx, delivery_id, "The webhook was deleted before the event was delivered.")
            return
        resting = resting_until(ctx, delivery.url)
        if resting is not None:
            postpone(ctx, delivery_id, resting)
            return
        delay = retry_delay(ctx.settings, delivery.attempts + 1)
        attempt = post(ctx.settings, delivery, body.decode(), secret)
        if attempt.error == "timeout":
            rest(ctx, delivery.url)
        delivery = record(ctx, delivery_id, attempt, delay)
        WEBHOOK_DELIVERIES.labels(OUTCOMES[delivery.status]).inc()
        if delivery.status == DeliveryStatus.pending:
            ctx.enqueue(Task.deliver_webhook, delivery_id, delay=delay)
        elif delivery.status == DeliveryStatus.failed:
            log.warning("webhook.delivery.failed", delivery_id=delivery_id,
                        attempts=delivery.attempts)


def post(settings: Settings, delivery: Delivery, body: str, secret: str) -> Attempt:
    """One signed POST to the checked address, redirects not followed; the receiver's answer
    body is never read, and its failure is told as a class, never as raw socket text."""
    at, started = clock.now(), time.perf_counter()
    headers = {**signing.signed_headers(secret, delivery.event_id, body, at),
               "content-type": "application/json", "user-agent": USER_AGENT}
    status, error = None, None
    try:
        target = targets.for_attempt(settings, delivery.url)
        with httpx.Client(timeout=settings.webhook_timeout_seconds, trust_env=False) as client:
            request = client.build_request(
                "POST", target.url, content=body.encode(),
                headers={**headers, "host": target.host_header},
                extensions={"sni_hostname": target.server_name})
            response = client.send(request, stream=True)
            response.close()
        status = response.status_code
        if not response.is_success:
            error = f"HTTP {status}"
    except targets.Refused as exc:
        error = str(exc)
    except httpx.TimeoutException:
        error = "timeout"
    except httpx.HTTPError:
        error = "connection failed"
    duration_ms = round((time.perf_counter() - started) * 1000)
    log.info("webhook.delivery.attempted", delivery_id=delivery.id, attempt=delivery.attempts + 1,
             status_code=status, ok=error is None, error=error, duration_ms=duration_ms)
    return Attempt(at=at, status_code=status, error=error, duration_ms=duration_ms)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def rest(ctx: Context, url: str) -> None:
    seconds = ctx.settings.webhook_retry_base_seconds
    repository.rest(ctx.redis, origin(url), clock.now_precise() + seconds, seconds)


def resting_until(ctx: Context, url: str) -> float | None:
    return repository.resting_until(ctx.redis, origin(url))


def postpone(ctx: Context, delivery_id: str, until: float) -> None:
    """Move the delivery's next attempt to when its receiver has rested; no attempt counted."""
    at = math.ceil(until)
    ctx.store.update(Delivery, delivery_id, lambda delivery: delivery.evolve(next_attempt_at=at),
                     also_write=track_pending)
    # half a second late rather than a hair early: RQ floors the time to the second, as `run` does
    ctx.enqueue(Task.deliver_webhook, delivery_id, delay=max(0.0, at - clock.now_precise()) + 0.5)
    log.info("webhook.delivery.postponed", delivery_id=delivery_id, until=at)


def retry_delay(settings: Settings, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    delay = settings.webhook_retry_base_seconds * GROWTH ** (attempt - 1)
    return float(min(MAX_DELAY_SECONDS, delay))


def record(ctx: Context, delivery_id: str, attempt: Attempt, delay: float) -> Delivery:
    """Add the attempt; the delivery succeeds on a 2xx, fails after the last attempt."""
    def change(delivery: Delivery) -> Delivery:
        count = delivery.attempts + 1
        update: dict[str, object] = {
            "attempts": count, "last_status_code": attempt.status_code,
            "last_error": attempt.error, "history": [*delivery.history, attempt],
            "next_attempt_at": None}
        if attempt.error is None:
            update |= {"status": DeliveryStatus.succeeded, "delivered_at": attempt.at}
        elif count >= ctx.settings.webhook_max_attempts:
            update["status"] = DeliveryStatus.failed
        else:
            # floored, so the scheduled retry (which RQ also floors to the second) is never early
            update["next_attempt_at"] = int(clock.now_precise() + delay)
        return delivery.evolve(**update)

    return ctx.store.update(Delivery, delivery_id, change, also_write=track_pending)


def give_up(ctx: Context, delivery_id: str, reason: str) -> None:
    ctx.store.update(Delivery, delivery_id, lambda delivery: delivery.evolve(
        status=DeliveryStatus.failed, last_error=reason, next_attempt_at=None),
        also_write=track_pending)
    WEBHOOK_DELIVERIES.labels("abandoned").inc()
    log.info("webhook.delivery.abandoned", delivery_id=delivery_id)


def track_pending(pipe: Pipeline, old: Delivery, new: Delivery) -> None:
    if new.status == DeliveryStatus.pending:
        repository.mark_pending(pipe, new.id, new.next_attempt_at or 0)
    else:
        repository.unmark_pending(pipe, new.id)


def requeue_overdue(ctx: Context, grace_seconds: float = 300) -> int:
    """Queue again the pending deliveries overdue by grace_seconds: their task was lost with a
    worker. A duplicate of a task that still runs does nothing (see `run`)."""
    overdue = repository.pending_due_by(ctx.redis, clock.now() - grace_seconds, OVERDUE_BATCH)
    for delivery_id in overdue:
        ctx.enqueue(Task.deliver_webhook, delivery_id)
    return len(overdue)
