-- Reserves one guess at a challenge's second factor: one attempt of the challenge and one failure of the
-- identifier (or device), counted before the guess is checked, as guess.lua does.
-- KEYS: challenge, lock, fails   ARGV: maxAttempts, maxFailures, lockoutMs
-- Returns {0, data, attempts, last} reserved, {1} no such challenge, {2} burned, {3, retryAfterMs} locked.
local challenge = redis.call('HMGET', KEYS[1], 'd', 'a')
if not challenge[1] then return {1} end
if tonumber(challenge[2]) >= tonumber(ARGV[1]) then return {2} end

local lockTtl = redis.call('PTTL', KEYS[2])
if lockTtl == -1 then lockTtl = tonumber(ARGV[3]) end
if lockTtl > 0 then return {3, lockTtl} end

local failures = redis.call('INCR', KEYS[3])
local maxFailures = tonumber(ARGV[2])
if failures > maxFailures then
  redis.call('DECR', KEYS[3])
  return {3, 1000}
end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
local attempts = redis.call('HINCRBY', KEYS[1], 'a', 1)
local last = 0
if failures == maxFailures then last = 1 end
return {0, challenge[1], attempts, last}
