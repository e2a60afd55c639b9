-- Checks, counts and consumes a code in one step.
-- KEYS: code, sends, last, lock, fails   ARGV: codeHash, maxAttempts, maxFailures, lockoutMs, deferReset
-- Returns {'ok'}, {'invalid'}, {'burned'}, {'locked', retryAfterMs}, or {'locked-now', retryAfterMs} when this
-- very guess reached maxFailures.
local lockTtl = redis.call('PTTL', KEYS[4])
if lockTtl == -1 then lockTtl = tonumber(ARGV[4]) end -- a lock set by hand, without a TTL
if lockTtl > 0 then return {'locked', lockTtl} end

local code = redis.call('HMGET', KEYS[1], 'h', 'a')
if not code[1] then return {'invalid'} end

local maxAttempts = tonumber(ARGV[2])
local attempts = tonumber(code[2])
if attempts >= maxAttempts then return {'burned'} end

-- Both sides are HMACs under a secret key, so how long this comparison takes tells nothing about the code.
if code[1] == ARGV[1] then
  if ARGV[5] == '1' then
    redis.call('DEL', KEYS[1]) -- the counters wait for the second factor
  else
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  end
  return {'ok'}
end

attempts = redis.call('HINCRBY', KEYS[1], 'a', 1)
-- A sliding window: the count lives lockoutMs from its last failure, so no lockoutMs sees more than maxFailures.
local failures = redis.call('INCR', KEYS[5])
redis.call('PEXPIRE', KEYS[5], ARGV[4])

if failures >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[4], 1, 'PX', ARGV[4])
  redis.call('DEL', KEYS[1], KEYS[5])
  return {'locked-now', tonumber(ARGV[4])}
end
if attempts >= maxAttempts then return {'burned'} end
return {'invalid'}
