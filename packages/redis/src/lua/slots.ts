const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Takes one of a user's connection slots. KEYS[1]: the user's sorted set. ARGV: member
 * (`instance\nsession`), max, TTL ms. Expired slots (of crashed instances) are dropped first;
 * taking a slot already held only refreshes it. Returns 1, or 0 when the user has `max` slots.
 */
export const RESERVE_LUA = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * One instance's heartbeat: refreshes its liveness, its presence hash and its connection slots,
 * and returns the instances alive now. KEYS[1]: instances, KEYS[2]: own presence hash, KEYS[3..]:
 * users' slot sets. ARGV[1]: instance id, ARGV[2]: TTL ms, ARGV[3..]: the slot member for each KEYS[3..].
 */
export const HEARTBEAT_LUA = `${NOW}
local deadline = string.format('%.0f', now + tonumber(ARGV[2]))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
for i = 3, #KEYS do
  redis.call('ZADD', KEYS[i], deadline, ARGV[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;
