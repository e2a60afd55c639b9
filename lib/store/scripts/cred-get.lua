-- The owner's authenticator: its secret, whether it is on, and how many recovery codes are unused.
-- KEYS: totp, marker   Returns {'found', secret, on, codesLeft}, or {'none'}.
local state = redis.call('HMGET', KEYS[1], 's', 'on', 'step')
if not state[1] then return {'none'} end
local fields = 2
if state[3] then fields = 3 end
return {'found', state[1], state[2], redis.call('HLEN', KEYS[1]) - fields}
