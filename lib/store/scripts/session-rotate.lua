-- Rotates a refresh token: the presented one must be the session's current token.
-- KEYS: index   ARGV: base, sessionId, tokenHash, newHash, now, ttlMs, keepSpent, channel
-- Returns {'ok', claims} rotated, {'reused'} a spent token (the session is ended), or {'invalid'}.
local index = KEYS[1]
local key = ARGV[1] .. ARGV[2]
local spent = key .. ':spent'
local current = redis.call('HGET', key, 'cur')
if not current then return {'invalid'} end
if current == ARGV[3] then
  local generation = redis.call('HINCRBY', key, 'gen', 1)
  redis.call('HSET', key, 'cur', ARGV[4], 'u', ARGV[5])
  -- The spent tokens, newest kept: reuse of any of the last keepSpent is detected, memory stays bounded.
  redis.call('ZADD', spent, generation, ARGV[3])
  redis.call('ZREMRANGEBYRANK', spent, 0, -(tonumber(ARGV[7]) + 1))
  redis.call('PEXPIRE', key, ARGV[6])
  redis.call('PEXPIRE', spent, ARGV[6])
  -- Above every other session's score, so the order is by last use even within one millisecond.
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  local score = tonumber(ARGV[5])
  if top[2] then score = math.max(score, tonumber(top[2]) + (top[1] == ARGV[2] and 0 or 1)) end
  redis.call('ZADD', index, score, ARGV[2])
  redis.call('PEXPIRE', index, ARGV[6])
  return {'ok', redis.call('HGET', key, 'claims')}
end
if redis.call('ZSCORE', spent, ARGV[3]) then
  -- A spent token came back: someone holds a copy. End the session, and with it its access tokens.
  redis.call('DEL', key, spent)
  redis.call('ZREM', index, ARGV[2])
  if ARGV[8] ~= '' then redis.call('PUBLISH', ARGV[8], ARGV[2]) end
  return {'reused'}
end
return {'invalid'}
