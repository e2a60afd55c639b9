-- Undoes an issue whose delivery failed: the code goes (if still the current one) and, when ARGV[2] is 1,
-- so do its send (from maxSends and from the identifier's ceiling) and the resend wait.
-- KEYS: code, sends, last, ceiling   ARGV: codeHash, giveSendBack   Returns {'revoked'}, or {'not-current'} (a
-- newer code replaced it, or it was used or expired).
if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return {'not-current'} end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '1' then return {'revoked'} end
redis.call('DEL', KEYS[3])
for _, key in ipairs({KEYS[2], KEYS[4]}) do
  local sends = tonumber(redis.call('GET', key) or '0')
  if sends <= 1 then
    redis.call('DEL', key)
  else
    redis.call('DECR', key)
  end
end
return {'revoked'}
