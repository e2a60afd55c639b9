-- Reserves one guess at an authenticator or recovery code before it is checked: it counts as a failure up
-- front, so parallel guesses can never check more than maxFailures, and the one that reaches it is the last.
-- The count lives lockoutMs from its last failure (a sliding window).
-- KEYS: lock, fails   ARGV: maxFailures, lockoutMs
-- Returns {0, last} reserved (last: 1 when it is the maxFailures-th), or {1, retryAfterMs} locked.
local lockTtl = redis.call('PTTL', KEYS[1])
if lockTtl == -1 then lockTtl = tonumber(ARGV[2]) end -- a lock set by hand, without a TTL
if lockTtl > 0 then return {1, lockTtl} end

local failures = redis.call('INCR', KEYS[2])
local maxFailures = tonumber(ARGV[1])
if failures > maxFailures then
  -- Guesses already in flight hold every allowed one: refused unchecked, and not counted, until they settle.
  redis.call('DECR', KEYS[2])
  return {1, 1000}
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if failures == maxFailures then return {0, 1} end
return {0, 0}
