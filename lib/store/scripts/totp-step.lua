-- Records a time step as used, only if it is later than the last one: the same code never logs in twice.
-- KEYS: totp, marker   ARGV: step   Returns {'used'}, or {'refused'} (off, or not a later step).
local state = redis.call('HMGET', KEYS[1], 'on', 'step')
if state[1] ~= '1' or tonumber(ARGV[1]) <= tonumber(state[2]) then return {'refused'} end
redis.call('HSET', KEYS[1], 'step', ARGV[1])
return {'used'}
