-- Counts one send against a shared budget (smsBudget) in a fixed window, unless the budget is used up: a refused
-- send is not counted, so a send given back (refund.lua) frees a place.
-- KEYS: budget   ARGV: limit, windowMs   Returns {'ok'} or {'exceeded', ttlMs}.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    -- A counter without an expiry would refuse forever: it gets the window (an absent one is not created).
    if count > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    ttl = tonumber(ARGV[2])
  end
  return {'exceeded', ttl}
end
redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {'ok'}
