-- Undoes a rotation from ARGV[1] to ARGV[2] whose answer came after the plugin's deadline (the client was told 503
-- and still holds ARGV[1]). When it was the session's last rotation, the session is put back as it was before it,
-- from what session-rotate.lua kept: both current tokens, the grace with the time it had left, the spent tokens.
-- Otherwise (a later rotation or undo came between), if ARGV[2] is still one of the session's current tokens, ARGV[1]
-- takes its place and is no longer spent. A session that ended stays ended. The spent set and the graces share the
-- session key's hash tag.
-- KEYS: key (the session's hash)   ARGV: tokenHash, newHash
-- Returns {'undone'}, or {'not-current'} when ARGV[2] is not current (or the session ended): nothing changed.
local key = KEYS[1]
local spent, grace, graceBefore = key .. ':spent', key .. ':grace', key .. ':grace-undo'
local s = redis.call('HMGET', key, 'cur', 'alt', 'un', 'up', 'uc', 'ua', 'ut')
local current, alt = s[1], s[2]
if not current then return {'not-current'} end
if s[3] == ARGV[2] and s[4] == ARGV[1] and s[5] then
  -- The last rotation: nothing came after it, so what it replaced is exactly the session before it.
  local before, beforeAlt, trimmed = s[5], s[6], s[7]
  redis.call('HSET', key, 'cur', before)
  if beforeAlt then redis.call('HSET', key, 'alt', beforeAlt) else redis.call('HDEL', key, 'alt') end
  redis.call('ZREM', spent, before)
  if beforeAlt then redis.call('ZREM', spent, beforeAlt) end
  if trimmed then
    local entries = cjson.decode(trimmed)
    for i = 1, #entries, 2 do redis.call('ZADD', spent, entries[i + 1], entries[i]) end
  end
  redis.call('DEL', grace)
  if redis.call('EXISTS', graceBefore) == 1 then redis.call('RENAME', graceBefore, grace) end
  redis.call('HDEL', key, 'un', 'up', 'uc', 'ua', 'ut')
  return {'undone'}
end
if current == ARGV[2] then
  if alt == ARGV[1] then redis.call('HDEL', key, 'alt') end
  redis.call('HSET', key, 'cur', ARGV[1])
elseif alt and alt == ARGV[2] then
  if current == ARGV[1] then redis.call('HDEL', key, 'alt') else redis.call('HSET', key, 'alt', ARGV[1]) end
else
  return {'not-current'}
end
redis.call('ZREM', spent, ARGV[1])
if redis.call('GET', grace) == ARGV[1] then redis.call('DEL', grace) end
-- What the last rotation kept no longer describes the session.
redis.call('HDEL', key, 'un', 'up', 'uc', 'ua', 'ut')
redis.call('DEL', graceBefore)
return {'undone'}
