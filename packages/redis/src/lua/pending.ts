import { ENSURE_LUA } from './ensure.js';

/**
 * Shared head of the scripts that write a topic: `ensure()` plus the two-phase publish.
 *
 * KEYS: meta, stream, ids, ids:old, pending. ARGV: [1] candidate epoch, [2] idle TTL ms, [3] maxLen,
 * [4] maxAgeMs, [5] the topic's channel, [6] reservation TTL ms; script arguments from [7].
 *
 * A publish first reserves the next seq: the pending hash holds `n<seq>` (the notification's JSON),
 * `i<seq>` (its id), `o<seq>` (the reserving publish's token) and `d<seq>` (the reservation's
 * deadline). Once the hub committed the publish's
 * durable side effects it sets `k<seq>`, and `advance()` moves the visible end `c` over every
 * settled seq in order: a committed one is XADDed to the stream and PUBLISHed (so no instance
 * ever receives seq N+1 before seq N, nor anything not yet committed), an abandoned one (`x<seq>`,
 * or a reservation half a TTL past its deadline: its publisher died and nobody retried it) is
 * skipped. Giving up the last seq handed
 * out takes it back, so an abandoned publish leaves no hole in the common case.
 */
export const PENDING_LUA = `${ENSURE_LUA}
local function drop_id(id, seq)
  for k = 3, 4 do
    if tonumber(redis.call('HGET', KEYS[k], id) or '-1') == seq then redis.call('HDEL', KEYS[k], id) end
  end
end
local function forget(seq)
  redis.call('HDEL', KEYS[5], 'n' .. seq, 'i' .. seq, 'o' .. seq, 'd' .. seq, 'k' .. seq)
end
-- Gives up reservation seq (not committed). The last seq handed out is taken back.
local function abandon(seq, id)
  forget(seq)
  drop_id(id, seq)
  local m = redis.call('HMGET', KEYS[1], 's', 'c')
  local s, c = tonumber(m[1]), tonumber(m[2])
  if seq ~= s then
    redis.call('HSET', KEYS[5], 'x' .. seq, 1)
    return
  end
  s = s - 1
  while s > c and redis.call('HEXISTS', KEYS[5], 'x' .. s) == 1 do
    redis.call('HDEL', KEYS[5], 'x' .. s)
    s = s - 1
  end
  redis.call('HSET', KEYS[1], 's', s)
end
-- Drops the entries older than maxAgeMs (entry ids are server times).
local function trim(now)
  local cutoff = now - tonumber(ARGV[4])
  if cutoff > 0 then redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', cutoff)) end
end
-- Moves the visible end over every settled seq, in order; returns it.
local function advance(epoch, now)
  local m = redis.call('HMGET', KEYS[1], 's', 'c')
  local s, c = tonumber(m[1]), tonumber(m[2])
  local added = false
  while c < s do
    local nxt = c + 1
    local p = redis.call('HMGET', KEYS[5], 'n' .. nxt, 'k' .. nxt, 'd' .. nxt, 'x' .. nxt, 'i' .. nxt)
    if p[1] and p[2] then
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 's', nxt, 'n', p[1])
      redis.call('PUBLISH', ARGV[5], epoch .. '\\n' .. nxt .. '\\n' .. p[1])
      forget(nxt)
      added = true
    elseif p[1] and tonumber(p[3]) + math.floor(tonumber(ARGV[6]) / 2) > now then
      -- Live, or expired so recently that a retry of its id may still take it over (no hole).
      break
    elseif p[4] then
      redis.call('HDEL', KEYS[5], 'x' .. nxt)
    else
      -- A reservation past its deadline: its publisher is gone. Nobody received it.
      if p[5] then drop_id(p[5], nxt) end
      forget(nxt)
      if nxt == s then
        s = s - 1
        redis.call('HSET', KEYS[1], 's', s)
        break
      end
    end
    c = nxt
  end
  redis.call('HSET', KEYS[1], 'c', c)
  if added then trim(now) end
  return c
end
local function touch()
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
`;
