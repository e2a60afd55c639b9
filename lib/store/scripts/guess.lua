-- Reserves one guess at an authenticator or recovery code before it is checked: it counts as a failure up
-- front, so parallel guesses can never check more than maxFailures, and the one that reaches it is the last.
-- The count lives lockoutMs from its last failure (a sliding window).
-- KEYS: lock, fails   ARGV: maxFailures, lockoutMs
-- Returns {'reserved'}, {'reserved', 'last'} when it is the maxFailures-th, {'locked', retryAfterMs}, or {'busy'}
-- when guesses still in flight hold every allowed one (nothing is locked).
local lockTtl = redis.call('PTTL', KEYS[1])
if lockTtl == -1 then lockTtl = tonumber(ARGV[2]) end -- a lock set by hand, without a TTL
if lockTtl > 0 then return {'locked', lockTtl} end

local failures = redis.call('INCR', KEYS[2])
local maxFailures = tonumber(ARGV[1])
if failures > maxFailures then
  -- Guesses already in flight hold every allowed one: refused unchecked, and not counted, until they settle.
  redis.call('DECR', KEYS[2])
  return {'busy'}
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if failures == maxFailures then return {'reserved', 'last'} end
return {'reserved'}
