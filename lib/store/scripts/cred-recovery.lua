-- Takes (ARGV[1] 'use') or gives back (ARGV[1] 'restore') one recovery-code hash, only while TOTP is on.
-- KEYS: totp, marker   ARGV: 'use' or 'restore', hash   Returns {'done'}, or {'refused'} (off, unknown, used, or there).
if redis.call('HGET', KEYS[1], 'on') ~= '1' then return {'refused'} end
local field = 'r:' .. ARGV[2]
if ARGV[1] == 'use' then
  if redis.call('HDEL', KEYS[1], field) == 1 then return {'done'} end
elseif redis.call('HSETNX', KEYS[1], field, 1) == 1 then
  return {'done'}
end
return {'refused'}
