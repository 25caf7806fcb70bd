package store

import "github.com/redis/go-redis/v9"

// The scripts take the clock from the server (TIME) so that gateway
// instances with skewed clocks agree, and keep every time in integer
// microseconds, which Lua's doubles hold exactly. Redis < 5 needs
// replicate_commands() before a script writes after TIME; on newer
// servers it is a no-op.

// gcraScript: KEYS[1] holds the TAT (Unix µs). ARGV: emission interval
// (µs), burst, cost. Returns {allowed, tat after the decision, now}.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
if n > burst then return {0, tat, now} end
local new = tat + n * t
if new - t * burst > now then return {0, tat, now} end
if n > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
end
return {1, new, now}
`)

// slidingScript: KEYS[1] is a hash {i = window index, c = its count,
// p = the previous window's count}. ARGV: period (µs), rate, cost.
// Returns {allowed, prev, cur (after the decision), µs into the window}.
// The estimate is computed exactly as slidingEstimate does in Go.
var slidingScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local period = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local win = math.floor(now / period)
local s = redis.call('HMGET', KEYS[1], 'i', 'c', 'p')
local si = tonumber(s[1])
local cur, prev = 0, 0
if si then
  if si >= win then
    win = si
    cur = tonumber(s[2]) or 0
    prev = tonumber(s[3]) or 0
  elseif si == win - 1 then
    prev = tonumber(s[2]) or 0
  end
end
local elapsed = now - win * period
if elapsed < 0 then elapsed = 0 end
local est = prev * (period - elapsed) / period + cur
if est + n > rate then return {0, prev, cur, elapsed} end
if n > 0 then
  cur = cur + n
  redis.call('HSET', KEYS[1], 'i', string.format('%.0f', win), 'c', cur, 'p', prev)
  redis.call('PEXPIRE', KEYS[1], math.ceil((2 * period - elapsed) / 1000) + 1)
end
return {1, prev, cur, elapsed}
`)

// consumeScript: KEYS[1] is the counter. ARGV: cost, max, expiry (Unix
// ms, 0 none). Returns {allowed, counter after the decision}.
var consumeScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local exp = tonumber(ARGV[3])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if cur + n > max then return {0, cur} end
if n == 0 then return {1, cur} end
local new = redis.call('INCRBY', KEYS[1], n)
if new == n and exp > 0 then redis.call('PEXPIREAT', KEYS[1], exp) end
return {1, new}
`)
