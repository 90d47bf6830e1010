"""The provider rate cap, as the limiter itself counts it: in any n whole seconds of its clock
it gives out at most its burst plus n seconds of refill, however many processes ask at once."""

import threading
import time

from service.store.buckets import Bucket

PER_SECOND, BURST = 20, 20


def take(bucket: Bucket, count: int) -> None:
    for _ in range(count):
        while (wait := bucket.take()) > 0:
            time.sleep(wait)


def test_tokens_given_out_per_window_never_exceed_the_bound(ctx):
    takers = [threading.Thread(target=take, args=(
        Bucket(ctx.redis, "t", PER_SECOND * 60, capacity=BURST, count_grants=True), 30))
        for _ in range(4)]
    for taker in takers:
        taker.start()
    for taker in takers:
        taker.join()
    prefix = "ftm:bucket:t:granted:"
    grants = {int(k.decode().removeprefix(prefix)): float(ctx.redis.get(k) or 0)
              for k in ctx.redis.scan_iter(match=prefix + "*")}
    assert sum(grants.values()) == 120
    for window in (1, 2, 5):
        for start in grants:
            taken = sum(grants.get(second, 0) for second in range(start, start + window))
            assert taken <= BURST + PER_SECOND * window
