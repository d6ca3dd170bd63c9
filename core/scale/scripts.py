"""Lua scripts: the steps that must happen atomically in Redis.

Each runs as one unit, so a crash (of a worker, an ingress or Redis itself) leaves either all
of a step or none of it: a message is never half-accepted, a counter never drifts from its stream.
"""

from __future__ import annotations

SENDER = "sender\x1f"  # backlog hash fields of people; conversation ids never hold a unit separator

# KEYS: dedupe, message, received, user, pending, backlog, inbound stream, all messages
# ARGV: has_external, message json, message id, time, conversation, max_pending,
#       conversation_backlog, dedupe_ttl, reply_to, enqueue ("1": scaled-out bus, "0": store only),
#       sender_backlog (0: no cap), sender field (SENDER + "channel:user")
# A message id seen before means the client retried after a lost reply: 'again', nothing repeated.
# The backlog hash counts a conversation's queued messages under its id and a person's under the
# sender field; the stream entry carries that field ('s') so that the ack can count it down.
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
  elseif tonumber(ARGV[11]) > 0
      and tonumber(redis.call('HGET', KEYS[6], ARGV[12]) or '0') >= tonumber(ARGV[11]) then
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
    redis.call('HINCRBY', KEYS[6], ARGV[12], 1)
    redis.call('XADD', KEYS[7], '*', 'm', ARGV[2], 'to', ARGV[9], 's', ARGV[12])
  end
end
return verdict
"""

# KEYS: message, started, turns, forgotten. ARGV: history turns wanted (0: none), the message's
# time, its two tombstones (core/privacy.py).
# A worker's first look at a message: its status and reply id, whether an attempt already began
# sending a reply, the conversation's last turns (the history the pipeline asks for next), and
# whether its sender was forgotten after sending it (1: drop it unanswered).
LOOK = """
local turns = {}
if tonumber(ARGV[1]) > 0 then turns = redis.call('LRANGE', KEYS[3], -tonumber(ARGV[1]), -1) end
local status, reply = unpack(redis.call('HMGET', KEYS[1], 'status', 'reply'))
local forgotten = 0
for _, when in ipairs(redis.call('HMGET', KEYS[4], ARGV[3], ARGV[4])) do
  if when and tonumber(ARGV[2]) <= tonumber(when) then forgotten = 1 end
end
return {status, reply, redis.call('EXISTS', KEYS[2]), turns, forgotten}
"""

# What storing a reply writes (RedisStore.record_reply, and a worker's FINISH step). A re-run
# (a command retried after a lost connection) finds the reply stored and adds no second turn.
# k: message, received, reply, turns, last reply, reply by external id.
# a: message id, message json, reply id, reply json, user turn, assistant turn, turns kept,
#    has external id ("1"/"0").
_STORE_REPLY = """
local function store_reply(k, a)
  if redis.call('HGET', k[1], 'reply') == a[3] then return end
  if redis.call('EXISTS', k[1]) == 0 then return end  -- its sender was forgotten meanwhile: keep nothing
  redis.call('SET', k[3], a[4])
  redis.call('HSET', k[1], 'data', a[2], 'status', 'done', 'reply', a[3])
  redis.call('ZREM', k[2], a[1])
  redis.call('RPUSH', k[4], a[5], a[6])
  redis.call('LTRIM', k[4], -tonumber(a[7]), -1)
  redis.call('SET', k[5], a[3])
  if a[8] == '1' then redis.call('SET', k[6], a[3]) end
end
"""

# Acknowledging a stream entry. Idempotent: only the first XACK of an entry moves the counters.
# Once acknowledged an entry is never redelivered, so its attempt marker can go (the ingress's
# `sent` key still guards). k: inbound stream, pending, backlog, started. a: group, entry id, conversation.
# The entry's sender field ('s', absent in entries written before it) is counted down too.
_ACK = """
local function ack(k, a)
  redis.call('DEL', k[4])
  local sender = nil
  for _, entry in ipairs(redis.call('XRANGE', k[1], a[2], a[2])) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 's' then sender = fields[i + 1] end
    end
  end
  if redis.call('XACK', k[1], a[1], a[2]) == 1 then
    redis.call('XDEL', k[1], a[2])
    if redis.call('DECR', k[2]) < 0 then redis.call('SET', k[2], '0') end
    if redis.call('HINCRBY', k[3], a[3], -1) <= 0 then redis.call('HDEL', k[3], a[3]) end
    if sender and redis.call('HINCRBY', k[3], sender, -1) <= 0 then redis.call('HDEL', k[3], sender) end
  end
end
"""

# KEYS and ARGV: those of store_reply.
RECORD = _STORE_REPLY + "store_reply(KEYS, ARGV)\nreturn 1\n"

# KEYS and ARGV: those of ack.
ACK = _ACK + "ack(KEYS, ARGV)\nreturn 1\n"

# How a worker ends a message, in one step: store the reply, announce it on the ingress's
# outbound stream (unless another attempt began this reply: then it is that attempt's to end),
# acknowledge the entry. Ack only after the reply is stored holds within the step: a failing
# command stops the script before the XACK. Returns 1 if the end event was appended.
# KEYS: ack's 4, store_reply's 6, outbound stream.
# ARGV: ack's 3, store_reply's 8, attempt token, maxlen, then the end event's field, value, ...
_FINISH = """
store_reply({unpack(KEYS, 5, 10)}, {unpack(ARGV, 4, 11)})
local owner = redis.call('GET', KEYS[4])
local announced = 0
if not owner or owner == ARGV[12] then
  redis.call('XADD', KEYS[11], 'MAXLEN', '~', ARGV[13], '*', unpack(ARGV, 14))
  announced = 1
end
ack({unpack(KEYS, 1, 4)}, {unpack(ARGV, 1, 3)})
return announced
"""
FINISH = _STORE_REPLY + _ACK + _FINISH

# KEYS: started, outbound stream, message, received. ARGV: attempt token, started ttl, maxlen,
# message id, field, value, ... The first chunk of a reply claims the message for this attempt
# (and marks it replying: it may have gone out); a later attempt (after a crash) finds it
# claimed and must not send a second reply.
EMIT = """
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  redis.call('HSET', KEYS[3], 'status', 'replying')
  redis.call('ZREM', KEYS[4], ARGV[4])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 5))
return 1
"""

# KEYS: sent. ARGV: claim token (this ingress process + the event's entry id), ttl seconds.
# An ingress claims a message before handing its reply to a channel: 1 the first time, and again
# for the same token (redis-py re-sends a command whose reply a lost connection swallowed: a plain
# SET NX would then find its own claim and drop the reply for good), 0 for any other token.
CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner then return owner == ARGV[1] and 1 or 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
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

# KEYS: a stream. ARGV: message ids. XDEL only marks entries deleted (their bytes stay in the
# stream's nodes, and so in dumps), so the stream is rebuilt without the events of those
# messages: same entry ids, same last id, atomically (readers resume from their position).
PURGE_STREAM = """
local doomed = {}
for _, id in ipairs(ARGV) do doomed[id] = true end
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
local kept, found = {}, 0
for _, entry in ipairs(entries) do
  local fields, drop = entry[2], false
  for i = 1, #fields, 2 do
    if fields[i] == 'mid' and doomed[fields[i + 1]] then drop = true end
  end
  if drop then found = found + 1 else table.insert(kept, entry) end
end
if found == 0 then return 0 end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
end
redis.call('DEL', KEYS[1])
for _, entry in ipairs(kept) do
  redis.call('XADD', KEYS[1], entry[1], unpack(entry[2]))
end
if #kept == 0 then redis.call('XADD', KEYS[1], last, 'k', 'purged') redis.call('XDEL', KEYS[1], last) end
redis.call('XSETID', KEYS[1], last)
return found
"""
