-- KEYS: session, revoked   ARGV: revokedForMs
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], 1, 'PX', ARGV[1])
return 1
