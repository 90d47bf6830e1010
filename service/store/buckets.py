"""Token buckets in Redis, shared by every process: per-key rate limits and the provider cap."""

import redis
import redis.asyncio

from service.clock import now_precise
from service.store import keys

# KEYS[1] bucket; ARGV: rate per second, capacity, now, tokens wanted, and a key prefix to count
# the tokens taken in each second of the bucket's own time under (or "" not to count them).
# Answers 0 when taken, else the seconds until that many tokens are there (nothing taken).
TAKE = """
local rate, capacity, now, want =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = capacity, now end
if now > at then tokens = math.min(capacity, tokens + (now - at) * rate) at = now end
local wait = 0
if tokens >= want then
  tokens = tokens - want
  if ARGV[5] ~= '' then
    local second = ARGV[5] .. string.format('%d', math.floor(at))
    redis.call('INCRBYFLOAT', second, want)
    redis.call('EXPIRE', second, 3600)
  end
else wait = (want - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""


# KEYS[1] bucket; ARGV: rate per second, capacity, now, most tokens wanted.
# Takes as many whole tokens as are there, up to the most: answers "taken wait left" (wait when
# none; left: the tokens still in the bucket).
TAKE_UP_TO = """
local rate, capacity, now, most =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = capacity, now end
if now > at then tokens = math.min(capacity, tokens + (now - at) * rate) at = now end
local taken, wait = math.min(most, math.floor(tokens)), 0
if taken < 1 then taken, wait = 0, (1 - tokens) / rate end
tokens = tokens - taken
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(taken) .. ' ' .. tostring(wait) .. ' ' .. tostring(tokens)
"""


class Bucket:
    """A bucket holding `capacity` tokens, refilled at `per_minute` tokens a minute."""

    def __init__(self, client: redis.Redis | redis.asyncio.Redis, name: str, per_minute: float,
                 capacity: float | None = None, count_grants: bool = False) -> None:
        """With count_grants, the tokens taken are counted per second of the bucket's clock
        (kept an hour): in any n whole seconds, at most capacity + n × rate."""
        self.key = keys.bucket(name)
        self.grants_prefix = keys.bucket_grants(name, "") if count_grants else ""
        self.rate = per_minute / 60.0
        self.capacity = capacity if capacity is not None else max(1.0, per_minute / 60.0)
        self.script = client.register_script(TAKE)
        self.batch_script = client.register_script(TAKE_UP_TO)

    def take(self, tokens: float = 1.0) -> float:
        """Take tokens if there; answer 0.0, or the seconds to wait before asking again."""
        wait = self.script(keys=[self.key],
                           args=[self.rate, self.capacity, now_precise(), tokens,
                                 self.grants_prefix])
        # A sync client's script never answers a coroutine; redis-py's types allow one.
        return float(wait)  # type: ignore[arg-type]

    async def take_up_to_on_loop(self, most: int) -> tuple[int, float, float]:
        """Take between 1 and most whole tokens through an asyncio client; answer how many, or 0
        and the seconds to wait, and the tokens left in the bucket."""
        answer = await self.batch_script(keys=[self.key],
                                         args=[self.rate, self.capacity, now_precise(), most])
        return taken_wait_left(answer)


def taken_wait_left(answer: bytes | str) -> tuple[int, float, float]:
    taken, wait, left = (answer.decode() if isinstance(answer, bytes) else answer).split()
    return int(taken), float(wait), float(left)
