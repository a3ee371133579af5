import { PENDING_LUA } from './pending.js';

/**
 * Phase two of a publish (see PENDING_LUA): marks reservation `seq` committed and advances the
 * visible end, which XADDs and PUBLISHes every committed seq in order.
 *
 * ARGV from [7]: epoch, seq, id, token. Returns `{ status, end }`: 1 visible (published), 0 committed
 * but waiting for an earlier seq, -1 the reservation is gone (it expired and was skipped or taken
 * over by a retry, or the stream got a new epoch): this publish will not deliver it.
 */
export const COMMIT_LUA = `${PENDING_LUA}
local epoch = ensure()
if epoch ~= ARGV[7] then return {-1, 0} end
-- Fail before writing anything when the stream cannot take the entry (a key of another type).
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'stream' and kind ~= 'none' then return redis.error_reply('WRONGTYPE the stream key holds another type') end
local seq = tonumber(ARGV[8])
if redis.call('HGET', KEYS[5], 'o' .. seq) ~= ARGV[10] then return {-1, 0} end
redis.call('HSET', KEYS[5], 'k' .. seq, 1)
local c = advance(epoch, ms_now())
touch()
if c >= seq then return {1, c} end
return {0, c}
`;

/**
 * Asks whether committed seq `seq` is visible yet, advancing over reservations whose publisher is
 * gone. ARGV from [7]: epoch, seq. Returns 1 visible, 0 not yet, -1 the stream got a new epoch.
 */
export const SETTLE_LUA = `${PENDING_LUA}
local epoch = ensure()
if epoch ~= ARGV[7] then return -1 end
if advance(epoch, ms_now()) >= tonumber(ARGV[8]) then return 1 end
return 0
`;

/**
 * Gives up reservation `seq` of id (a durable side effect failed). ARGV from [7]: epoch, seq, id,
 * token. Returns 1 given up (nobody will receive it), 0 it was committed after all, or a retry of the
 * same id took the reservation over (it is or will be delivered: keep its side effects).
 */
export const ABORT_LUA = `${PENDING_LUA}
local epoch, s, c = ensure()
if epoch ~= ARGV[7] then return 1 end
local seq = tonumber(ARGV[8])
local id = ARGV[9]
if redis.call('HGET', KEYS[5], 'i' .. seq) == id then
  if redis.call('HGET', KEYS[5], 'o' .. seq) ~= ARGV[10] then return 0 end
  if redis.call('HEXISTS', KEYS[5], 'k' .. seq) == 1 then return 0 end
  abandon(seq, id)
  advance(epoch, ms_now())
  return 1
end
local at = redis.call('HGET', KEYS[3], id) or redis.call('HGET', KEYS[4], id)
if at and tonumber(at) == seq and seq <= c then return 0 end
return 1
`;
