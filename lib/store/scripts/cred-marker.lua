-- Prepended to every credential script (lib/store/credentials/redis-marker.ts): the marker, the last key, in the
-- same hash slot as the data keys, is written once by init and never expires. Gone means Redis lost its data, so
-- the script answers {'lost'} before it reads anything: "nothing there" is never the answer to lost data.
if redis.call('EXISTS', KEYS[#KEYS]) == 0 then return {'lost'} end
