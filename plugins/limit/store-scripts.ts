// The server-side scripts shared limits run in the store: each is one atomic step, so
// instances never read, change and write back a count (no lost updates between them).
// Time is the store's own (TIME), so the instances' clocks need not agree.

/**
 * RATE_SCRIPT is GCRA (the generic cell rate algorithm): the key holds the theoretical
 * arrival time (TAT) of the next request, in ms. A request at `now` passes when
 * TAT - now <= T*(burst-1), T = 1/rate; it then moves TAT to max(TAT, now) + T. This is the
 * token bucket the local mode keeps (capacity `burst`, refill 1 per T), in one number per
 * key that expires once the bucket is full again. It answers the ms to wait (0: go).
 * KEYS[1] the key; ARGV[1] T in ms; ARGV[2] burst.
 */
export const RATE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local T = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - T * (tonumber(ARGV[2]) - 1) - now
if wait > 0 then return math.ceil(wait) end
local after = tat + T
redis.call('SET', KEYS[1], string.format('%.3f', after), 'PX', math.ceil(after - now) + 1)
return 0`;

/**
 * ENTER_SCRIPT counts a request in flight: the key is a sorted set of entries, each scored
 * with the time its lease ends. Entries whose lease ended (an instance that died holding
 * them) are dropped first; the request gets in when fewer than `max` are left. Answers 1 or 0.
 * KEYS[1] the key; ARGV[1] max; ARGV[2] lease ms; ARGV[3] the entry's id.
 */
export const ENTER_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * RENEW_SCRIPT extends the lease of an entry still in flight (a long request, a WebSocket),
 * and puts it back if the store lost it (restarted empty).
 * KEYS[1] the key; ARGV[1] lease ms; ARGV[2] the entry's id.
 */
export const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0`;
