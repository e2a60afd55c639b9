-- One passkey by credential id, with its owner.
-- KEYS: passkey, marker   Returns {'found', owner, record JSON, counter, lastUsedAt ('' for never), name, identity JSON},
-- or {'none'}.
local p = redis.call('HMGET', KEYS[1], 'owner', 'rec', 'counter', 'used', 'name', 'identity')
if not p[1] then return {'none'} end
return {'found', p[1], p[2], p[3], p[4], p[5], p[6]}
