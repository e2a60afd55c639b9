-- Undoes an issue whose code was never sent (delivery failed, or the request got 503): the code goes (if still the
-- current one) and, when ARGV[2] is 1, so does its send, and the resend wait if the code was the latest. A newer
-- code keeps its own wait, but the send of the one revoked is given back all the same: it was never sent.
-- KEYS: code, sends, last   ARGV: codeHash, giveSendBack   Returns {'revoked'}, or {'not-current'} (a newer code
-- replaced it, or it was used or expired).
local current = redis.call('HGET', KEYS[1], 'h') == ARGV[1]
if current then redis.call('DEL', KEYS[1]) end
if ARGV[2] == '1' then
  if current then redis.call('DEL', KEYS[3]) end
  local sends = tonumber(redis.call('GET', KEYS[2]) or '0')
  if sends <= 1 then
    redis.call('DEL', KEYS[2])
  else
    redis.call('DECR', KEYS[2])
  end
end
if current then return {'revoked'} end
return {'not-current'}
