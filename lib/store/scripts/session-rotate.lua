-- Rotates a refresh token: the presented one must be the family's current token.
-- KEYS: session, revoked   ARGV: tokenHash, newHash, ttlMs, revokedForMs
-- Returns {0, claims} rotated, {1} reused (family ended), {2} invalid.
local current = redis.call('HGET', KEYS[1], 'cur')
if not current then return {2} end
if current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 's:' .. ARGV[1], 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {0, redis.call('HGET', KEYS[1], 'claims')}
end
if redis.call('HEXISTS', KEYS[1], 's:' .. ARGV[1]) == 1 then
  -- A spent token came back: someone holds a copy. End the family and refuse its access tokens.
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], 1, 'PX', ARGV[4])
  return {1}
end
return {2}
