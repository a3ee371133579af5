import { PENDING_LUA } from './pending.js';

/**
 * Both phases of a publish in one script, for a publish with no durable side effect between them
 * (the hub has no stage with work to do for it, so nothing can fail between the reserve and the
 * commit): the append script followed by the commit script, without the round trip between and
 * without the reservation in the pending hash when nothing earlier is reserved. Same dedupe, epoch,
 * takeover and ordering as the two (see APPEND_LUA, COMMIT_LUA and PENDING_LUA).
 *
 * ARGV from [7]: id, notification JSON (without epoch and seq). Returns `{ epoch, seq, status }`:
 * 0 stored and visible (XADDed and PUBLISHed); 1 a duplicate (as for append); 2 the id is reserved
 * by a publish still in flight (ask again later); 3 stored and committed, waiting for an earlier
 * seq still reserved by another publish (it becomes visible when that one settles: poll settle).
 *
 * Every check that can refuse the publish comes before the first write, so an error reply means
 * nothing was stored.
 */
export const PUBLISH_LUA = `${PENDING_LUA}
local epoch, s, c = ensure()
local now = ms_now()
local id = ARGV[7]
local seq, taken
local dup = redis.call('HGET', KEYS[3], id) or redis.call('HGET', KEYS[4], id)
if dup then
  dup = tonumber(dup)
  if redis.call('HGET', KEYS[5], 'i' .. dup) ~= id then
    if dup <= c then return {epoch, dup, 1} end
    drop_id(id, dup)
  elseif redis.call('HEXISTS', KEYS[5], 'k' .. dup) == 1 then
    return {epoch, dup, 1}
  elseif tonumber(redis.call('HGET', KEYS[5], 'd' .. dup)) > now then
    return {epoch, dup, 2}
  else
    -- A retry of a publish whose instance died after reserving: it takes the reservation over
    -- (same seq, no hole) and commits it, below.
    seq = dup
    taken = true
  end
end
if not seq and c == s then
  -- Nothing reserved before it: visible at once (what advance() would do for it). XADD is the
  -- first write: on a key of another type it fails before anything was stored.
  seq = s + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 's', seq, 'n', ARGV[8])
  redis.call('HSET', KEYS[1], 's', seq, 'c', seq)
  redis.call('HSET', KEYS[3], id, seq)
  if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[3]) then redis.call('RENAME', KEYS[3], KEYS[4]) end
  redis.call('PUBLISH', ARGV[5], epoch .. '\\n' .. seq .. '\\n' .. ARGV[8])
  trim(now)
  -- The pending hash is empty (nothing reserved up to c), so it does not exist: no TTL to refresh.
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
  return {epoch, seq, 0}
end
-- Fail before writing anything when the stream cannot take the entry (a key of another type).
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'stream' and kind ~= 'none' then return redis.error_reply('WRONGTYPE the stream key holds another type') end
if taken then
  -- The dead publisher's token goes, so it can no longer commit or abort it.
  redis.call('HSET', KEYS[5], 'n' .. seq, ARGV[8], 'k' .. seq, 1)
  redis.call('HDEL', KEYS[5], 'o' .. seq, 'd' .. seq)
else
  -- Behind a reservation: committed in the pending hash, visible once advance() gets to it.
  seq = s + 1
  redis.call('HSET', KEYS[1], 's', seq)
  redis.call('HSET', KEYS[3], id, seq)
  if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[3]) then redis.call('RENAME', KEYS[3], KEYS[4]) end
  redis.call('HSET', KEYS[5], 'n' .. seq, ARGV[8], 'i' .. seq, id, 'k' .. seq, 1)
end
local visible = advance(epoch, now)
touch()
if visible >= seq then return {epoch, seq, 0} end
return {epoch, seq, 3}
`;
