-- Gives back one reserved guess: a right code that could not be used (its time step was already spent).
-- KEYS: fails
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures <= 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('DECR', KEYS[1])
end
return {'ok'}
