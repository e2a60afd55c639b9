-- KEYS: session   ARGV: tokenHash, claims, ttlMs
redis.call('HSET', KEYS[1], 'cur', ARGV[1], 'claims', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
