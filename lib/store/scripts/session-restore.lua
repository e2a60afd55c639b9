-- Restores sessions that session-create.lua ended beyond maxSessions and parked, for the undo of a sign-in whose
-- answer came after the plugin's deadline (the client was told 503): each comes back as it was, with its tokens,
-- spent tokens, grace, claims and times, its remaining TTL and its place in the index. One that is not parked
-- (never, or over parkedMs ago, or ended since) stays ended. Keys share the user's {hash tag}, as in session-create.
-- KEYS: index   ARGV: base, sessionIds...
-- Returns {'restored', ids restored...}.
local index, base = KEYS[1], ARGV[1]
local parked = index .. ':parked'
local result = {'restored'}
for i = 2, #ARGV do
  local id = ARGV[i]
  local key = base .. id
  local score = redis.call('ZSCORE', parked, id)
  local ttl = tonumber(redis.call('HGET', key .. ':parked', 'pttl'))
  redis.call('ZREM', parked, id)
  if score and ttl and ttl > 0 and redis.call('EXISTS', key) == 0 then
    redis.call('RENAME', key .. ':parked', key)
    redis.call('HDEL', key, 'pttl')
    redis.call('PEXPIRE', key, ttl)
    if redis.call('EXISTS', key .. ':spent:parked') == 1 then
      redis.call('RENAME', key .. ':spent:parked', key .. ':spent')
      redis.call('PEXPIRE', key .. ':spent', ttl)
    end
    if redis.call('EXISTS', key .. ':grace:parked') == 1 then redis.call('RENAME', key .. ':grace:parked', key .. ':grace') end
    redis.call('ZADD', index, score, id)
    -- The index lives as long as its longest-lived session (it may have gone with the sign-in's own session).
    if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
    table.insert(result, id)
  else
    redis.call('DEL', key .. ':parked', key .. ':spent:parked', key .. ':grace:parked')
  end
end
return result
