-- Leaves a second-factor challenge: what the first factor proved, for the second to finish.
-- KEYS: challenge   ARGV: data, ttlMs
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'a', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok'}
