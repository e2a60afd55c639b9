-- Counts one wrong guess made some other way than at a code (an authenticator or recovery code), with the
-- same counter, lockout and effect as verify.lua.
-- KEYS: code, lock, fails   ARGV: maxFailures, lockoutMs
-- Returns {status, retryAfterMs}: 0 counted, 1 locked.
local lockTtl = redis.call('PTTL', KEYS[2])
if lockTtl == -1 then lockTtl = tonumber(ARGV[2]) end -- a lock set by hand, without a TTL
if lockTtl > 0 then return {1, lockTtl} end

local failures = redis.call('INCR', KEYS[3])
if failures == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end

if failures >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], 1, 'PX', ARGV[2])
  redis.call('DEL', KEYS[1], KEYS[3])
  return {1, tonumber(ARGV[2])}
end
return {0, 0}
