-- Reserves one guess at a challenge's second factor: one attempt of the challenge and one failure of the
-- identifier (or device), counted before the guess is checked, as guess.lua does.
-- KEYS: challenge, lock, fails   ARGV: maxAttempts, maxFailures, lockoutMs
-- Returns {'reserved', data, attempts} (with 'last' after them when it is the maxFailures-th failure),
-- {'invalid'} no such challenge, {'burned'}, {'locked', retryAfterMs}, or {'busy'} when guesses still in flight
-- hold every allowed failure (nothing is locked).
-- The failure count lives lockoutMs from its last failure (a sliding window), as everywhere.
local challenge = redis.call('HMGET', KEYS[1], 'd', 'a')
if not challenge[1] then return {'invalid'} end
if tonumber(challenge[2]) >= tonumber(ARGV[1]) then return {'burned'} end

local lockTtl = redis.call('PTTL', KEYS[2])
if lockTtl == -1 then lockTtl = tonumber(ARGV[3]) end
if lockTtl > 0 then return {'locked', lockTtl} end

local failures = redis.call('INCR', KEYS[3])
local maxFailures = tonumber(ARGV[2])
if failures > maxFailures then
  -- Refused unchecked, and not counted, until the guesses in flight settle.
  redis.call('DECR', KEYS[3])
  return {'busy'}
end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
local attempts = redis.call('HINCRBY', KEYS[1], 'a', 1)
if failures == maxFailures then return {'reserved', challenge[1], attempts, 'last'} end
return {'reserved', challenge[1], attempts}
