-- Rotates a refresh token: the presented one must be one of the session's current tokens ('cur', or 'alt', the
-- one a grace retry handed out beside it). The token a rotation spends may come back once within graceMs (a lost
-- answer, two tabs): it then gets a token of its own as 'alt', and whichever of the two current tokens is rotated
-- first goes on while the other is spent. The grace lives in its own key, so Redis's clock ends it.
-- Each rotation keeps what it replaces, for session-undo.lua (an answer that came after the plugin's deadline): in
-- the hash, 'un' the new token, 'up' the presented one, 'uc'/'ua' the current tokens before, 'ut' the spent ones it
-- trimmed (JSON, score and token); the grace it replaced moves to its own key with the time it had left.
-- KEYS: index   ARGV: base, sessionId, tokenHash, newHash, now, ttlMs, keepSpent, channel, graceMs
-- Returns {'ok', claims} rotated (or a grace retry), {'reused'} a spent token (the session is ended), or {'invalid'}.
local index = KEYS[1]
local key = ARGV[1] .. ARGV[2]
local spent, grace, graceBefore = key .. ':spent', key .. ':grace', key .. ':grace-undo'
local tokens = redis.call('HMGET', key, 'cur', 'alt')
local current, alt = tokens[1], tokens[2]
if not current then return {'invalid'} end

-- A use: the session lives ttlMs from now, above every other session's score, so the order is by last use even
-- within one millisecond.
local function used ()
  redis.call('HSET', key, 'u', ARGV[5])
  redis.call('PEXPIRE', key, ARGV[6])
  redis.call('PEXPIRE', spent, ARGV[6])
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  local score = tonumber(ARGV[5])
  if top[2] then score = math.max(score, tonumber(top[2]) + (top[1] == ARGV[2] and 0 or 1)) end
  redis.call('ZADD', index, score, ARGV[2])
  redis.call('PEXPIRE', index, ARGV[6])
  return {'ok', redis.call('HGET', key, 'claims')}
end

-- What this rotation replaces, so that undoing it restores the session as it was. The grace keeps its time left.
local function keep (trimmed)
  redis.call('HDEL', key, 'ua', 'ut')
  redis.call('HSET', key, 'un', ARGV[4], 'up', ARGV[3], 'uc', current)
  if alt then redis.call('HSET', key, 'ua', alt) end
  if trimmed and #trimmed > 0 then redis.call('HSET', key, 'ut', cjson.encode(trimmed)) end
  if redis.call('EXISTS', grace) == 1 then redis.call('RENAME', grace, graceBefore) else redis.call('DEL', graceBefore) end
end

if current == ARGV[3] or alt == ARGV[3] then
  local generation = redis.call('HINCRBY', key, 'gen', 1)
  -- The spent tokens, newest kept: reuse of any of the last keepSpent is detected, memory stays bounded.
  redis.call('ZADD', spent, generation, current)
  if alt then
    redis.call('ZADD', spent, generation, alt)
    redis.call('HDEL', key, 'alt')
  end
  local beyond = -(tonumber(ARGV[7]) + 1)
  keep(redis.call('ZRANGE', spent, 0, beyond, 'WITHSCORES'))
  redis.call('ZREMRANGEBYRANK', spent, 0, beyond)
  redis.call('HSET', key, 'cur', ARGV[4])
  if tonumber(ARGV[9]) > 0 then
    redis.call('SET', grace, ARGV[3], 'PX', ARGV[9])
  else
    redis.call('DEL', grace)
  end
  return used()
end
if redis.call('GET', grace) == ARGV[3] then
  -- The token the last rotation spent, once more within the grace: a second current token, once only.
  keep()
  redis.call('HSET', key, 'alt', ARGV[4])
  return used()
end
if redis.call('ZSCORE', spent, ARGV[3]) then
  -- A spent token came back: someone holds a copy. End the session, and with it its access tokens.
  redis.call('DEL', key, spent, grace, graceBefore)
  redis.call('ZREM', index, ARGV[2])
  if ARGV[8] ~= '' then redis.call('PUBLISH', ARGV[8], ARGV[2]) end
  return {'reused'}
end
return {'invalid'}
