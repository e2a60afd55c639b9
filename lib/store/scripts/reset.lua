-- Resets an identifier's (or device's) counters once a sign-in is done.
-- KEYS: sends, last, lock, fails
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return {'ok'}
