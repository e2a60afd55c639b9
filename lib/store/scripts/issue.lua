-- Stores a new code for one identifier (or one of its devices) unless the identifier has reached its ceiling,
-- or this one is locked out, has used up its sends, or asks too soon.
-- KEYS: code, sends, last, lock, ceiling (the identifier's own, for every device)
-- ARGV: codeHash, codeTtlMs, maxSends, windowMs, resendIntervalMs, maxSendsPerIdentifier (0: no ceiling)
-- Returns {'issued'}, {'max-sends-per-identifier', retryAfterMs} the ceiling reached in its window,
-- {'locked', retryAfterMs} locked out, {'max-sends', retryAfterMs} maxSends used up in this window, or
-- {'too_soon', retryAfterMs}.
-- A marker without a TTL (set by hand, say) still counts: -1 means it exists; the wait is then a window.
local ceiling = tonumber(ARGV[6])
local issuedAll = 0
-- An identifier's first code in its ceiling's window counts at once, in one command (SET NX), and is taken back
-- below if anything else refuses this send.
local created = false
if ceiling > 0 then
  created = redis.call('SET', KEYS[5], 1, 'PX', ARGV[4], 'NX') ~= false
  if not created then
    -- First: past the ceiling every device gets the same answer (and no device skips the captcha).
    issuedAll = tonumber(redis.call('GET', KEYS[5]) or '0')
    if issuedAll >= ceiling then
      local ceilingTtl = redis.call('PTTL', KEYS[5])
      if ceilingTtl < 0 then ceilingTtl = tonumber(ARGV[4]) end
      return {'max-sends-per-identifier', ceilingTtl}
    end
  end
end
local function refuse (reply)
  if created then redis.call('DEL', KEYS[5]) end
  return reply
end

local lockTtl = redis.call('PTTL', KEYS[4])
if lockTtl == -1 then lockTtl = tonumber(ARGV[4]) end
if lockTtl > 0 then return refuse({'locked', lockTtl}) end

local sends = tonumber(redis.call('GET', KEYS[2]) or '0')
if sends >= tonumber(ARGV[3]) then
  local windowTtl = redis.call('PTTL', KEYS[2])
  if windowTtl < 0 then windowTtl = tonumber(ARGV[4]) end
  return refuse({'max-sends', windowTtl})
end

local lastTtl = redis.call('PTTL', KEYS[3])
if lastTtl == -1 then lastTtl = tonumber(ARGV[5]) end
if lastTtl > 0 then return refuse({'too_soon', lastTtl}) end

-- A new code replaces the old one and starts its own attempt count (the hash has no other fields than these two).
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'a', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])

if sends == 0 then
  redis.call('SET', KEYS[2], 1, 'PX', ARGV[4])
else
  redis.call('INCR', KEYS[2])
end

-- The ceiling's window is its own: fixed from its first code, and no sign-in resets it.
if ceiling > 0 and not created then
  if issuedAll == 0 then
    redis.call('SET', KEYS[5], 1, 'PX', ARGV[4])
  else
    redis.call('INCR', KEYS[5])
  end
end

if tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[3], 1, 'PX', ARGV[5])
end
return {'issued'}
