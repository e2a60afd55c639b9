-- Records a sign-in with a passkey: the counter must go up, unless it and the stored one are both 0.
-- KEYS: passkey, marker   ARGV: counter, usedAt   Returns {'used'}, {'counter-went-back'} or {'unknown'}.
local stored = redis.call('HGET', KEYS[1], 'counter')
if not stored then return {'unknown'} end
local counter, before = tonumber(ARGV[1]), tonumber(stored)
if counter <= before and (counter ~= 0 or before ~= 0) then return {'counter-went-back'} end
redis.call('HSET', KEYS[1], 'counter', ARGV[1], 'used', ARGV[2])
return {'used'}
