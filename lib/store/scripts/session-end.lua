-- Ends a session, unless it already was: returns 0 then, 1 when this call ended it.
-- KEYS: session, revoked, spent   ARGV: revokedForMs
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SET', KEYS[2], 1, 'PX', ARGV[1])
return 1
