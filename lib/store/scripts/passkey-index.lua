-- The owner's index of passkey ids, by creation time: 'add' one, 'remove' one, or 'list' them, oldest first.
-- An id is listed only if its passkey (another key) names this owner: the index may hold ids of passkeys that
-- were not added or were removed since (two steps on a Cluster: the passkey's key is in another hash slot).
-- KEYS: index, marker   ARGV: 'add', id, createdAt | 'remove', id | 'list'
-- Returns {'added'} or {'there'} (add), {'done'} (remove), {'ids', id...} (list).
if ARGV[1] == 'add' then
  if redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2]) == 1 then return {'added'} end
  return {'there'}
elseif ARGV[1] == 'remove' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return {'done'}
end
local reply = {'ids'}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do reply[#reply + 1] = id end
return reply
