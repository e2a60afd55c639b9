-- Ends sessions of one user: 'one' ends ARGV[3]; 'others' all but ARGV[3]; 'all' every one.
-- 'others', and 'all' with a session id, first need that session to be live (a logout needs a live session).
-- KEYS: index   ARGV: base, scope, sessionId (or ''), channel (or '')
-- Returns {'ok', ended ids...}, or {'not-live'} when the caller's session is not live; announces the ended ones on the
-- channel, so every instance drops them from its session cache. Parked sessions (ended beyond maxSessions, see
-- session-create.lua) that it ends again are deleted, so no restore brings them back; they are not in the answer.
local index, base, scope, own = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local function unpark (id)
  redis.call('DEL', base .. id .. ':parked', base .. id .. ':spent:parked', base .. id .. ':grace:parked')
  redis.call('ZREM', index .. ':parked', id)
end
local function announce (result)
  if ARGV[4] ~= '' and #result > 1 then
    redis.call('PUBLISH', ARGV[4], table.concat(result, ' ', 2))
  end
  return result
end
local function finish (id)
  local live = redis.call('DEL', base .. id)
  redis.call('DEL', base .. id .. ':spent', base .. id .. ':grace', base .. id .. ':grace-undo')
  redis.call('ZREM', index, id)
  return live == 1
end
if scope == 'one' then
  unpark(own)
  if finish(own) then return announce({'ok', own}) end
  return {'ok'}
end
if own ~= '' and redis.call('EXISTS', base .. own) == 0 then return {'not-live'} end
for _, id in ipairs(redis.call('ZRANGE', index .. ':parked', 0, -1)) do unpark(id) end
local result = {'ok'}
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  if (scope == 'all' or id ~= own) and finish(id) then table.insert(result, id) end
end
return announce(result)
