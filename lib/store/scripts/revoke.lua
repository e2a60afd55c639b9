-- Undoes an issue whose code was never sent (delivery failed, or the request got 503): the code goes (if still the
-- current one) and, when ARGV[2] is 1, so does its send (from maxSends and from the identifier's ceiling), and the
-- resend wait if the code was the latest. A newer code keeps its own wait, but the send of the one revoked is given
-- back all the same: it was never sent.
-- KEYS: code, sends, last, ceiling   ARGV: codeHash, giveSendBack   Returns {'revoked'}, or {'not-current'} (a newer
-- code replaced it, or it was used or expired).
local current = redis.call('HGET', KEYS[1], 'h') == ARGV[1]
if current then redis.call('DEL', KEYS[1]) end
if ARGV[2] == '1' then
  if current then redis.call('DEL', KEYS[3]) end
  for _, key in ipairs({KEYS[2], KEYS[4]}) do
    local sends = tonumber(redis.call('GET', key) or '0')
    if sends <= 1 then
      redis.call('DEL', key)
    else
      redis.call('DECR', key)
    end
  end
end
if current then return {'revoked'} end
return {'not-current'}
