-- Puts back what cred-disable removed, only if the owner has no authenticator now. A pending one gets its
-- remaining time (refused when none is left); one that is on never expires.
-- KEYS: totp, marker   ARGV: secret, on (0/1), lastStep, ttlMs, hash...   Returns {'restored'}, or {'refused'}.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'refused'} end
if ARGV[2] == '0' then
  if tonumber(ARGV[4]) <= 0 then return {'refused'} end
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'on', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'restored'}
end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'on', 1, 'step', ARGV[3])
for i = 5, #ARGV do redis.call('HSET', KEYS[1], 'r:' .. ARGV[i], 1) end
return {'restored'}
