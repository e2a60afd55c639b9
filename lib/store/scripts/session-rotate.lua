-- Rotates a refresh token: the presented one must be the family's current token.
-- KEYS: session, revoked, spent   ARGV: tokenHash, newHash, ttlMs, revokedForMs, keepSpent
-- Returns {0, claims} rotated, {1} reused (family ended), {2} invalid.
local current = redis.call('HGET', KEYS[1], 'cur')
if not current then return {2} end
if current == ARGV[1] then
  local generation = redis.call('HINCRBY', KEYS[1], 'gen', 1)
  redis.call('HSET', KEYS[1], 'cur', ARGV[2])
  -- The spent tokens, newest kept: reuse of any of the last keepSpent is detected, memory stays bounded.
  redis.call('ZADD', KEYS[3], generation, ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[5]) + 1))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  return {0, redis.call('HGET', KEYS[1], 'claims')}
end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  -- A spent token came back: someone holds a copy. End the family and refuse its access tokens.
  redis.call('DEL', KEYS[1], KEYS[3])
  redis.call('SET', KEYS[2], 1, 'PX', ARGV[4])
  return {1}
end
return {2}
