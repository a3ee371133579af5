import { ENSURE_LUA } from './ensure.js';

/**
 * Stores one notification and announces it, atomically: dedupe by id, epoch get-or-create, next
 * seq, XADD with a length bound (MAXLEN ~) and an age bound (exact MINID on the entry ids, which
 * are Redis server times), then PUBLISH of `epoch \n seq \n json` on the topic's channel. Because
 * the PUBLISH happens inside the script, no instance can receive seq N+1 before seq N is stored,
 * and pub/sub delivers a connection's messages in the order the scripts ran.
 *
 * KEYS: meta, stream, ids, ids:old. ARGV: candidate epoch, idle TTL ms, id, notification JSON
 * (without epoch and seq), maxLen, maxAgeMs, channel. Returns `{ epoch, seq, duplicate (0|1) }`.
 */
export const APPEND_LUA = `${ENSURE_LUA}
local epoch, seq = ensure()
local dup = redis.call('HGET', KEYS[3], ARGV[3]) or redis.call('HGET', KEYS[4], ARGV[3])
if dup then return {epoch, tonumber(dup), 1} end
seq = seq + 1
-- XADD first: if it fails (a key of the wrong type), nothing was written and the seq is not used up.
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 's', seq, 'n', ARGV[4])
redis.call('HSET', KEYS[1], 's', seq)
local cutoff = ms_now() - tonumber(ARGV[6])
if cutoff > 0 then redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', cutoff)) end
redis.call('HSET', KEYS[3], ARGV[3], seq)
if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[5]) then redis.call('RENAME', KEYS[3], KEYS[4]) end
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
redis.call('PUBLISH', ARGV[7], epoch .. '\\n' .. seq .. '\\n' .. ARGV[4])
return {epoch, seq, 0}
`;
