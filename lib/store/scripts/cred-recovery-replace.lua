-- Replaces every recovery-code hash while TOTP is on: the old codes stop working.
-- KEYS: totp, marker   ARGV: hash...   Returns {'replaced', oldHash...}, or {'off'} (nothing changed).
if redis.call('HGET', KEYS[1], 'on') ~= '1' then return {'off'} end
local reply = {'replaced'}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'r:' then
    reply[#reply + 1] = string.sub(field, 3)
    redis.call('HDEL', KEYS[1], field)
  end
end
for i = 1, #ARGV do redis.call('HSET', KEYS[1], 'r:' .. ARGV[i], 1) end
return reply
