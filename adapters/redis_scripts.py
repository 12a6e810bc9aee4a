"""The Lua scripts behind the store's methods: each is one atomic step in Redis.

Kept apart from `redis_store` so the store reads as Python; every script is
registered there and runs through `redis_connection`'s outage handling.
"""

FIRST_TIME = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
"""SET NX with a TTL, plus two things plain SET NX cannot do in the same step:
recognise our own earlier attempt (a retry after a lost reply must still say
"first"), and give a key that somehow lost its TTL one, so it cannot block a
delivery id or a cooldown forever."""

INCR_WEEK = """
local week = redis.pcall('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if type(week) == 'number' then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if not KEYS[2] then return week end
local total = redis.pcall('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
if type(week) ~= 'number' then return week end
if type(total) ~= 'number' then return total end
return {total, week}
"""
"""A weekly counter and its expiry in one step, so no week key is left without a TTL;
given the all-time counters hash as a second key, that counter too, answering both.
Each HINCRBY is tried even if the other's key is damaged (its error is then the reply),
as two separate commands would: a damaged hash loses its own counts, not the other's."""

ADD_QUESTION = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
"""Push, cap and expire in one step: the list never holds more than `keep` questions."""

# The daily prompt

CLAIM = """
if redis.call('SET', KEYS[1], 'lease:' .. ARGV[1], 'NX', 'PX', ARGV[2]) then
  local attempt = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {'mine', attempt}
end
local value = redis.call('GET', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if value == 'lease:' .. ARGV[1] then
  return {'mine', tonumber(redis.call('GET', KEYS[2]) or '1') or 1}
end
if string.sub(value, 1, 5) == 'done:' then return {'settled', string.sub(value, 6)} end
return {'held', 0}
"""
"""`SET NX` with a lease TTL; also recognises our own token (a retry after a lost
reply) and counts the claims, so a later attempt knows an earlier one may have
posted. A key that somehow lost its TTL gets one, so it cannot block a day forever."""

RENEW = """
if redis.call('GET', KEYS[1]) == 'lease:' .. ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == 'lease:' .. ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

PICK_PROMPT = """
local function listed(id)
  for i = 2, #ARGV do if ARGV[i] == id then return true end end
  return false
end
if redis.call('HGET', KEYS[1], '@day') == ARGV[1] then
  local pick = redis.call('HGET', KEYS[1], '@pick')
  if pick and listed(pick) then return pick end
end
local pick = false
for i = 2, #ARGV do
  if redis.call('HEXISTS', KEYS[1], 'used:' .. ARGV[i]) == 0 then pick = ARGV[i] break end
end
if not pick then
  redis.call('DEL', KEYS[1])
  pick = ARGV[2]
end
redis.call('HSET', KEYS[1], 'used:' .. pick, '1', '@day', ARGV[1], '@pick', pick)
return pick
"""
"""The rotation in one hash per channel: `used:<id>` for each prompt shown this
round, `@day`/`@pick` for today's, so every retry on one day gets the same prompt."""

RESERVE = """
local now = redis.call('TIME')
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local stored = redis.call('GET', KEYS[1])
local start = tonumber(stored or '0') or 0
local damaged = ''
if tonumber(ARGV[3]) > 0 and start > micros + tonumber(ARGV[3]) then
  damaged = stored
  start = 0
end
if start < micros + tonumber(ARGV[2]) then start = micros + tonumber(ARGV[2]) end
local after = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX',
           math.ceil((after - micros) / 1000) + 1000)
return {start - micros, damaged}
"""
"""A shared pacer (GCRA): the key holds when the next slot starts, in Redis's own
clock, so instances on machines whose clocks disagree still share one rate. A slot
further away than ARGV[3] microseconds (when not 0) was booked by no instance: the
key is started over, and its value returned second, to be logged."""


# Nudges after customer calls

OUTBOX_PUT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'known' end
local claim = redis.call('GET', KEYS[2])
if claim and string.sub(claim, 1, 5) == 'done:' then return 'known' end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'added'
"""
"""Add to the outbox unless the key waits there already or its claim is settled (posted
before), in one step: two instances taking the same re-sent delivery add it once."""
