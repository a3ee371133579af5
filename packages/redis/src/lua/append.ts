import { PENDING_LUA } from './pending.js';

/**
 * Reserves the next seq of a topic for a notification (phase one of a publish; see PENDING_LUA):
 * dedupe by id, epoch get-or-create, next seq, the notification kept in the pending hash. Nothing
 * is visible or published yet.
 *
 * ARGV from [7]: id, notification JSON (without epoch and seq), this publish's token. Returns
 * `{ epoch, seq, status }`: 0 reserved; 1 a duplicate (the id is committed, or reserved by a publish
 * that committed it); 2 the id is reserved by a publish still in flight (ask again later).
 *
 * A retry of an id whose reservation expired uncommitted (its publisher died) takes that
 * reservation over, seq and all, so the crash leaves no hole in the topic.
 */
export const APPEND_LUA = `${PENDING_LUA}
local epoch = ensure()
local now = ms_now()
local id = ARGV[7]
local dup = redis.call('HGET', KEYS[3], id) or redis.call('HGET', KEYS[4], id)
if dup then
  dup = tonumber(dup)
  local c = tonumber(redis.call('HGET', KEYS[1], 'c'))
  if redis.call('HGET', KEYS[5], 'i' .. dup) ~= id then
    if dup <= c then return {epoch, dup, 1} end
    drop_id(id, dup)
  elseif redis.call('HEXISTS', KEYS[5], 'k' .. dup) == 1 then
    return {epoch, dup, 1}
  elseif tonumber(redis.call('HGET', KEYS[5], 'd' .. dup)) > now then
    return {epoch, dup, 2}
  else
    redis.call('HSET', KEYS[5], 'n' .. dup, ARGV[8], 'o' .. dup, ARGV[9], 'd' .. dup, now + tonumber(ARGV[6]))
    touch()
    return {epoch, dup, 0}
  end
end
local seq = tonumber(redis.call('HGET', KEYS[1], 's')) + 1
redis.call('HSET', KEYS[1], 's', seq)
redis.call('HSET', KEYS[5], 'n' .. seq, ARGV[8], 'i' .. seq, id, 'o' .. seq, ARGV[9], 'd' .. seq, now + tonumber(ARGV[6]))
redis.call('HSET', KEYS[3], id, seq)
if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[3]) then redis.call('RENAME', KEYS[3], KEYS[4]) end
touch()
return {epoch, seq, 0}
`;
