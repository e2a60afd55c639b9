-- Locks an identifier out: its last reserved guess was wrong. The code goes, the count starts again after.
-- KEYS: code, lock, fails   ARGV: lockoutMs
redis.call('SET', KEYS[2], 1, 'PX', ARGV[1])
redis.call('DEL', KEYS[1], KEYS[3])
return {'ok'}
