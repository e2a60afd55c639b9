-- Gives back one reserved guess at a challenge whose right code could not be used.
-- KEYS: challenge, fails
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'a', -1) end
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
if failures <= 1 then
  redis.call('DEL', KEYS[2])
else
  redis.call('DECR', KEYS[2])
end
return {'ok'}
