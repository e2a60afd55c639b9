-- Replaces the encrypted secret if it is still the one read (key rotation); a pending setup keeps its TTL.
-- KEYS: totp, marker   ARGV: from, to   Returns {'replaced'}, or {'changed'}.
if redis.call('HGET', KEYS[1], 's') ~= ARGV[1] then return {'changed'} end
redis.call('HSET', KEYS[1], 's', ARGV[2])
return {'replaced'}
