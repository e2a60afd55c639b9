-- Starts a session in its user's index; the least recently used ones beyond maxSessions end.
-- Every key shares the user's {hash tag}: the session keys are built from ARGV[1], which is KEYS[1]'s prefix.
-- KEYS: index   ARGV: base, sessionId, tokenHash, claims, amr, now, ttlMs, maxSessions, channel, parkedMs
-- Returns the ids of the sessions that ended, and announces them on the channel (if any).
-- An ended session is parked, not deleted: its keys are renamed (so it is no longer live, at once) and kept for
-- parkedMs with its remaining TTL ('pttl') and its place in the index (the score in index:parked), so that the
-- undo of a sign-in answered 503 can restore it (session-restore.lua).
local index, base = KEYS[1], ARGV[1]
local parked, parkedMs = index .. ':parked', tonumber(ARGV[10])
-- Scores order the sessions by last use, ties (the same millisecond) included: a new score is above every other.
local entries = redis.call('ZRANGE', index, 0, -1, 'WITHSCORES')
local count = #entries / 2 -- the sessions still live, once the expired ones are swept out of the index
local score = tonumber(ARGV[6])
for i = 1, #entries, 2 do
  local id = entries[i]
  if redis.call('EXISTS', base .. id) == 0 then
    redis.call('ZREM', index, id)
    redis.call('DEL', base .. id .. ':spent', base .. id .. ':grace')
    count = count - 1
  else
    score = math.max(score, tonumber(entries[i + 1]) + 1)
  end
end
-- Renames key to key:parked (nothing of an earlier parking stays); the grace keeps its own short TTL, so it ends
-- while parked as it would have.
local function park (key, ttl)
  if redis.call('EXISTS', key) == 0 then return redis.call('DEL', key .. ':parked') end
  redis.call('RENAME', key, key .. ':parked')
  if ttl then redis.call('PEXPIRE', key .. ':parked', ttl) end
end
local ended = {}
while count >= tonumber(ARGV[8]) do
  local oldest = redis.call('ZPOPMIN', index)
  local id, key = oldest[1], base .. oldest[1]
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'pttl', redis.call('PTTL', key))
    park(key, parkedMs)
    park(key .. ':spent', parkedMs)
    park(key .. ':grace')
    redis.call('ZADD', parked, oldest[2], id)
    redis.call('PEXPIRE', parked, parkedMs)
  end
  table.insert(ended, id)
  count = count - 1
end
if #ended > 0 and ARGV[9] ~= '' then redis.call('PUBLISH', ARGV[9], table.concat(ended, ' ')) end
local key = base .. ARGV[2]
redis.call('HSET', key, 'cur', ARGV[3], 'claims', ARGV[4], 'amr', ARGV[5], 'c', ARGV[6], 'u', ARGV[6])
redis.call('PEXPIRE', key, ARGV[7])
redis.call('ZADD', index, score, ARGV[2])
-- Every session's TTL is ttlMs from its last use, so the newest use sets the index's.
redis.call('PEXPIRE', index, ARGV[7])
return ended
