/**
 * Shared head of the topic scripts. KEYS: meta, stream, ids, ids:old, pending. ARGV[1]: a fresh
 * candidate epoch (used only if the topic needs a new one), ARGV[2]: the idle-topic TTL in ms.
 *
 * The meta hash holds the stream's identity: `e` epoch, `s` last seq handed out, `c` last seq
 * settled (committed or given up: the visible end), `r` the `run_id` of the Redis server that
 * last wrote it. `ensure()` gives the topic a NEW epoch, dropping everything of it, when:
 * - it has none (new topic, expired, FLUSHALL, a restart without persistence);
 * - the stream is gone while meta says it had notifications (evicted, deleted);
 * - meta was written by another Redis server process (a restart from an RDB/AOF file, a restore,
 *   a promoted replica): such a server may be behind what clients saw, and handing out the same
 *   seqs again in the same epoch would make every client drop them as already seen. With a new
 *   epoch a resume point into the old stream is never "recovered" from the new one: clients get
 *   an explicit gap and resync from the inbox.
 */
export const ENSURE_LUA = `
local function ms_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ensure()
  local m = redis.call('HMGET', KEYS[1], 'e', 's', 'c', 'r')
  local epoch = m[1]
  local seq = tonumber(m[2] or '0')
  local committed = tonumber(m[3] or m[2] or '0')
  -- A plain find, then a match anchored there: scanning the whole reply with a pattern costs more
  -- than the rest of the publish's lookups together.
  local info = redis.call('INFO', 'server')
  local at = string.find(info, 'run_id:', 1, true)
  local run = at and string.match(info, '^%x+', at + 7) or ''
  if epoch and m[4] ~= run then epoch = false end
  if epoch and committed > 0 and redis.call('EXISTS', KEYS[2]) == 0 then epoch = false end
  if not epoch then
    redis.call('DEL', unpack(KEYS))
    epoch = ARGV[1]
    seq = 0
    committed = 0
    redis.call('HSET', KEYS[1], 'e', epoch, 's', 0, 'c', 0, 'r', run)
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return epoch, seq, committed
end
`;
