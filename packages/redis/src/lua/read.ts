import { ENSURE_LUA } from './ensure.js';

/**
 * Reads a topic's visible end and the entries after a position, in one atomic step (creating the
 * topic's epoch if it has none, so a position handed to a client is never replaced by another
 * epoch at the first publish). Reserved, uncommitted seqs are not visible. Entries are in seq
 * order; a seq given up while a later one was reserved leaves a hole, so the `n` newest entries
 * cover at least seqs `end-n+1 .. end` (callers filter by seq).
 *
 * KEYS: meta, stream, ids, ids:old, pending. ARGV: candidate epoch, idle TTL ms, since epoch,
 * since seq, mode. With another epoch, mode `read` returns no entries (the caller reports
 * `recovered: false`) and mode `follow` returns the new epoch's entries from its start (a
 * subscriber catching up). Returns `{ epoch, end seq, entries newest first }`.
 */
export const READ_LUA = `${ENSURE_LUA}
local epoch, _, seq = ensure()
local after = tonumber(ARGV[4])
if epoch ~= ARGV[3] then
  if ARGV[5] ~= 'follow' then return {epoch, seq, {}} end
  after = 0
end
local n = seq - after
if n <= 0 then return {epoch, seq, {}} end
return {epoch, seq, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', n)}
`;
