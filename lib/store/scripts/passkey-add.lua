-- Adds a passkey under its credential id, unless that id exists (for any owner). Never expires.
-- KEYS: passkey, marker   ARGV: owner, record JSON (fixed fields), counter, lastUsedAt ('' for never), name,
-- identity JSON   Returns {'added'}, or {'taken'}.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'taken'} end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'rec', ARGV[2], 'counter', ARGV[3], 'used', ARGV[4], 'name', ARGV[5], 'identity', ARGV[6])
return {'added'}
