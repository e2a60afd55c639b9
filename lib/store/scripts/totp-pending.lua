-- Starts (or restarts) a pending authenticator setup, unless one is already on.
-- KEYS: totp, marker   ARGV: secret, ttlMs   Returns {'saved'}, or {'already-on'}.
if redis.call('HGET', KEYS[1], 'on') == '1' then return {'already-on'} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', ARGV[1], 'on', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'saved'}
