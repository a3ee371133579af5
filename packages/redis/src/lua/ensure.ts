/**
 * Shared head of the topic scripts: gets the topic's epoch and last seq, creating the stream's
 * identity when it has none. KEYS: meta, stream, ids, ids:old. ARGV[1]: a fresh candidate epoch
 * (used only if the topic has none), ARGV[2]: the idle-topic TTL in ms.
 *
 * A stream whose meta says it has notifications but which does not exist any more (evicted,
 * deleted) is treated as lost: everything of the topic is dropped and the candidate becomes the
 * new epoch, so a resume point into the old stream can never be "recovered" from the new one.
 * Epoch and seq live in one hash, so a FLUSHALL or a restart without persistence loses both.
 */
export const ENSURE_LUA = `
local function ms_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ensure()
  local epoch = redis.call('HGET', KEYS[1], 'e')
  local seq = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
  if epoch and seq > 0 and redis.call('EXISTS', KEYS[2]) == 0 then epoch = false end
  if not epoch then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
    epoch = ARGV[1]
    seq = 0
    redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return epoch, seq
end
`;
