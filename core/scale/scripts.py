"""Lua scripts: the steps that must happen atomically in Redis.

Each runs as one unit, so a crash (of a worker, an ingress or Redis itself) leaves either all
of a step or none of it: a message is never half-accepted, a counter never drifts from its stream.
"""

from __future__ import annotations

# KEYS: dedupe, message, received, user, pending, backlog, inbound stream, all messages
# ARGV: has_external, message json, message id, time, conversation, max_pending,
#       conversation_backlog, dedupe_ttl, reply_to, enqueue ("1": scaled-out bus, "0": store only)
# A message id seen before means the client retried after a lost reply: 'again', nothing repeated.
ACCEPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'again' end
if ARGV[1] == '1' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[8]) then return 'dup' end
end
local verdict = 'ok'
if ARGV[10] == '1' then
  if tonumber(redis.call('GET', KEYS[5]) or '0') >= tonumber(ARGV[6]) then
    verdict = 'full'
  elseif tonumber(redis.call('HGET', KEYS[6], ARGV[5]) or '0') >= tonumber(ARGV[7]) then
    verdict = 'busy'
  end
end
redis.call('HSET', KEYS[2], 'data', ARGV[2], 'status', verdict == 'ok' and 'received' or 'busy')
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[8], ARGV[4], ARGV[3])
if verdict == 'ok' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
  if ARGV[10] == '1' then
    redis.call('INCR', KEYS[5])
    redis.call('HINCRBY', KEYS[6], ARGV[5], 1)
    redis.call('XADD', KEYS[7], '*', 'm', ARGV[2], 'to', ARGV[9])
  end
end
return verdict
"""

# KEYS: inbound stream, pending, backlog, started. ARGV: group, entry id, conversation.
# Idempotent: only the first XACK of an entry moves the counters. Once acknowledged an entry
# is never redelivered, so its attempt marker can go (the ingress's `sent` key still guards).
ACK = """
redis.call('DEL', KEYS[4])
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  if redis.call('DECR', KEYS[2]) < 0 then redis.call('SET', KEYS[2], '0') end
  if redis.call('HINCRBY', KEYS[3], ARGV[3], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[3]) end
end
return 1
"""

# KEYS: started, outbound stream. ARGV: attempt token, started ttl, maxlen, field, value, ...
# The first chunk of a reply claims the message for this attempt; a later attempt (after a
# crash) finds it claimed and must not send a second reply.
EMIT = """
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
if not owner then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
return 1
"""

# KEYS: leases. ARGV: owner, ttl ms. Extend each lease still ours; 1/0 per lease, in one round trip.
RENEW = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    held[i] = redis.call('PEXPIRE', key, ARGV[2])
  else
    held[i] = 0
  end
end
return held
"""

# KEYS: lease. ARGV: owner. Give a lease back only if it is still ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
