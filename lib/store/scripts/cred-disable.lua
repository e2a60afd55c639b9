-- Removes the authenticator, pending or on, and answers what it removed, for an undo.
-- KEYS: totp, marker   Returns {'none'}, or {'removed', secret, on, lastStep (-1: none), pttl (-1: none), hash...}.
local state = redis.call('HMGET', KEYS[1], 's', 'on', 'step')
if not state[1] then return {'none'} end
local reply = {'removed', state[1], state[2], state[3] or '-1', redis.call('PTTL', KEYS[1])}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'r:' then reply[#reply + 1] = string.sub(field, 3) end
end
redis.call('DEL', KEYS[1])
return reply
