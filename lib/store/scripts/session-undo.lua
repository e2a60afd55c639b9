-- Undoes a rotation from ARGV[1] to ARGV[2] whose answer came after the plugin's deadline (the client was told 503
-- and still holds ARGV[1]): if ARGV[2] is still one of the session's current tokens, ARGV[1] takes its place and is
-- no longer spent. A session that ended stays ended. The spent set and the grace share the session key's hash tag.
-- KEYS: key (the session's hash)   ARGV: tokenHash, newHash
-- Returns {'undone'}, or {'not-current'} when ARGV[2] is not current (or the session ended): nothing changed.
local key = KEYS[1]
local tokens = redis.call('HMGET', key, 'cur', 'alt')
local current, alt = tokens[1], tokens[2]
if current and current == ARGV[2] then
  if alt == ARGV[1] then redis.call('HDEL', key, 'alt') end
  redis.call('HSET', key, 'cur', ARGV[1])
elseif alt and alt == ARGV[2] then
  if current == ARGV[1] then redis.call('HDEL', key, 'alt') else redis.call('HSET', key, 'alt', ARGV[1]) end
else
  return {'not-current'}
end
redis.call('ZREM', key .. ':spent', ARGV[1])
if redis.call('GET', key .. ':grace') == ARGV[1] then redis.call('DEL', key .. ':grace') end
return {'undone'}
