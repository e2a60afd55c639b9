-- Undoes an issue whose delivery failed: the code goes (if still the current one) and so does its send.
-- KEYS: code, sends, last   ARGV: codeHash
if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
local sends = tonumber(redis.call('GET', KEYS[2]) or '0')
if sends <= 1 then
  redis.call('DEL', KEYS[2])
else
  redis.call('DECR', KEYS[2])
end
return 1
