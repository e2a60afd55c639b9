-- Turns a pending setup on if it still holds the secret the user confirmed; from then on the key never expires.
-- KEYS: totp, marker   ARGV: secret, step, recoveryHash...   Returns {'enabled'}, or {'not-pending'} with this secret.
local state = redis.call('HMGET', KEYS[1], 's', 'on')
if state[1] ~= ARGV[1] or state[2] ~= '0' then return {'not-pending'} end
redis.call('HSET', KEYS[1], 'on', 1, 'step', ARGV[2])
for i = 3, #ARGV do redis.call('HSET', KEYS[1], 'r:' .. ARGV[i], 1) end
redis.call('PERSIST', KEYS[1])
return {'enabled'}
