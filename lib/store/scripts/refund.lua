-- Gives back one count, never below 0, keeping the counter's expiry: a reserved guess whose right code could not
-- be used (its time step was already spent), or a send counted against a budget that went nowhere.
-- KEYS: counter (fails, or a budget)
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures <= 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('DECR', KEYS[1])
end
return {'ok'}
