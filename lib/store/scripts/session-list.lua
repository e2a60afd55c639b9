-- The live sessions of one user, forgetting index entries whose session expired.
-- KEYS: index   ARGV: base   Returns a flat list: id, createdAt, lastUsedAt, ttlMs, amr for each.
local index, base = KEYS[1], ARGV[1]
local result = {}
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local key = base .. id
  local fields = redis.call('HMGET', key, 'c', 'u', 'amr')
  local ttl = redis.call('PTTL', key)
  if fields[1] and ttl > 0 then
    table.insert(result, id)
    table.insert(result, fields[1])
    table.insert(result, fields[2])
    table.insert(result, ttl)
    table.insert(result, fields[3] or '[]')
  else
    redis.call('ZREM', index, id)
    redis.call('DEL', key .. ':spent', key .. ':grace')
  end
end
return result
