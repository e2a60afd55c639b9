-- Spends a challenge whose second factor was right, once (parallel winners find it gone), and resets the
-- identifier's (or device's) counters: the sign-in is done.
-- KEYS: challenge, sends, last, lock, fails   Returns {'spent'} by this call, or {'gone'} (spent before, or expired).
if redis.call('DEL', KEYS[1]) == 0 then return {'gone'} end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {'spent'}
