-- Changes one of the owner's passkeys: 'name' renames it, 'identity' rebinds it to another identity, 'remove' removes it.
-- KEYS: passkey, marker   ARGV: owner, 'name' | 'identity' | 'remove', value
-- Returns {'changed'} ('remove': {'removed', record JSON, counter, lastUsedAt, name, identity JSON}), or {'unknown'}.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return {'unknown'} end
if ARGV[2] ~= 'remove' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return {'changed'}
end
local p = redis.call('HMGET', KEYS[1], 'rec', 'counter', 'used', 'name', 'identity')
redis.call('DEL', KEYS[1])
return {'removed', p[1], p[2], p[3], p[4], p[5]}
