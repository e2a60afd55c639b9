-- Spends a challenge whose second factor was right, once: parallel winners find it gone.
-- KEYS: challenge, fails   Returns 1 spent by this call, 0 already gone.
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
return 1
