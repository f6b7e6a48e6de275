/**
 * The Lua scripts of RedisTransactionStore: each operation of the transaction-store contract as
 * one compare-and-set script (one round trip, atomic on the server). KEYS[1] is the transaction's
 * hash, KEYS[2] its bucket's lease index (a sorted set: member the transaction key, score its
 * lease's until, -inf without a lease); both carry the bucket's hash tag, so each script touches
 * one Redis Cluster slot. A record script answers {won (1/0), HGETALL of the hash after it}.
 *
 * Hash fields: side, invite (1/0), state, branch, req (the request's bytes), parent (a client
 * transaction's server key) and rto (a server transaction's response target), absent when not given, v (version), status, resp (the last response's
 * bytes, absent without one), exp (expiresAt, also the key's PEXPIREAT), owner and until (absent
 * without a lease), bn (branches added so far), `t:<letter>` (a timer's deadline) and `b:<branch>`
 * (a branch as JSON: [order, target, state, status]).
 *
 * Optional arguments are '' for "leave as it is" and '=' followed by the value otherwise (a value
 * may itself be empty). The expiry is applied last, after the answer is read: a PEXPIREAT in the
 * past deletes the key, and nothing may write it again afterwards (it would live without a TTL).
 */

const ANSWER = `
local function answer(won)
  return {won, redis.call('HGETALL', KEYS[1])}
end
local function isOneOf(value, first, last)
  for i = first, last do
    if ARGV[i] == value then return true end
  end
  return false
end
`;

/** ARGV: side, invite, state, branch, expiresAt, owner ('' none), until, member, request, parent, respondTo (optional), then letter/deadline pairs. */
export const CREATE = `${ANSWER}
if redis.call('EXISTS', KEYS[1]) == 1 then return answer(0) end
redis.call('HSET', KEYS[1], 'side', ARGV[1], 'invite', ARGV[2], 'state', ARGV[3], 'branch', ARGV[4], 'v', 1, 'status', 0, 'exp', ARGV[5], 'bn', 0)
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[6], 'until', ARGV[7])
  redis.call('ZADD', KEYS[2], ARGV[7], ARGV[8])
else
  redis.call('ZADD', KEYS[2], '-inf', ARGV[8])
end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'req', string.sub(ARGV[9], 2)) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'parent', string.sub(ARGV[10], 2)) end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'rto', string.sub(ARGV[11], 2)) end
for i = 12, #ARGV, 2 do redis.call('HSET', KEYS[1], 't:' .. ARGV[i], ARGV[i + 1]) end
local result = answer(1)
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return result`;

/**
 * ARGV: n, n expected states, state ('=' value or ''), status ('' keep), response ('=' bytes, or ''
 * none), expiresAt ('' keep), lease owner ('' keep the lease), lease until, the key (lease index
 * member), take ('1': write the lease whoever holds the current one), then letter/deadline pairs
 * (deadline '' stops the timer). Without take the lease is written only when its owner holds the
 * current one.
 */
export const TRANSITION = `${ANSWER}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
local n = tonumber(ARGV[1])
if not isOneOf(redis.call('HGET', KEYS[1], 'state'), 2, n + 1) then return answer(0) end
local i = n + 2
if ARGV[i] ~= '' then redis.call('HSET', KEYS[1], 'state', string.sub(ARGV[i], 2)) end
if ARGV[i + 1] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[i + 1])
  if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[1], 'resp', string.sub(ARGV[i + 2], 2)) else redis.call('HDEL', KEYS[1], 'resp') end
end
for j = i + 8, #ARGV, 2 do
  if ARGV[j + 1] == '' then redis.call('HDEL', KEYS[1], 't:' .. ARGV[j]) else redis.call('HSET', KEYS[1], 't:' .. ARGV[j], ARGV[j + 1]) end
end
if ARGV[i + 3] ~= '' then redis.call('HSET', KEYS[1], 'exp', ARGV[i + 3]) end
if ARGV[i + 4] ~= '' and (ARGV[i + 7] == '1' or redis.call('HGET', KEYS[1], 'owner') == ARGV[i + 4]) then
  redis.call('HSET', KEYS[1], 'owner', ARGV[i + 4], 'until', ARGV[i + 5])
  redis.call('ZADD', KEYS[2], ARGV[i + 5], ARGV[i + 6])
end
redis.call('HINCRBY', KEYS[1], 'v', 1)
local result = answer(1)
if ARGV[i + 3] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[i + 3]) end
return result`;

/** ARGV: branch, target, state, status. */
export const ADD_BRANCH = `${ANSWER}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
local field = 'b:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 1 then return answer(0) end
local order = redis.call('HINCRBY', KEYS[1], 'bn', 1)
redis.call('HSET', KEYS[1], field, cjson.encode({order, ARGV[2], ARGV[3], tonumber(ARGV[4])}))
redis.call('HINCRBY', KEYS[1], 'v', 1)
return answer(1)`;

/** ARGV: branch, new state, status ('' keep), n, n expected states. */
export const UPDATE_BRANCH = `${ANSWER}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
local field = 'b:' .. ARGV[1]
local stored = redis.call('HGET', KEYS[1], field)
if not stored then return answer(0) end
local branch = cjson.decode(stored)
if not isOneOf(branch[3], 5, 4 + tonumber(ARGV[4])) then return answer(0) end
branch[3] = ARGV[2]
if ARGV[3] ~= '' then branch[4] = tonumber(ARGV[3]) end
redis.call('HSET', KEYS[1], field, cjson.encode(branch))
redis.call('HINCRBY', KEYS[1], 'v', 1)
return answer(1)`;

/**
 * ARGV: owner, until, now, member, from ('' none). Granted when free, lapsed at now, held by
 * owner, or held by from (a dead worker's lease taken over).
 */
export const ACQUIRE_LEASE = `${ANSWER}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] and owner ~= ARGV[5] and tonumber(redis.call('HGET', KEYS[1], 'until')) > tonumber(ARGV[3]) then return answer(0) end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'until', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('HINCRBY', KEYS[1], 'v', 1)
return answer(1)`;

/** ARGV: owner, until, member. Granted only to the holder. */
export const RENEW_LEASE = `${ANSWER}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return answer(0) end
redis.call('HSET', KEYS[1], 'until', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'v', 1)
return answer(1)`;

/** ARGV: owner, member. */
export const RELEASE_LEASE = `${ANSWER}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return answer(0) end
redis.call('HDEL', KEYS[1], 'owner', 'until')
redis.call('ZADD', KEYS[2], '-inf', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'v', 1)
return answer(1)`;

/** ARGV: member. Answers 1 when a live record was deleted. */
export const DELETE = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`;

/**
 * KEYS[1]: a bucket's lease index. ARGV: now, limit, how many index entries to look at, the
 * bucket's hash key prefix. Answers the keys of live transactions whose lease lapsed at now (or
 * that have none), and drops index entries whose hash is gone (expired by its TTL). The hashes it
 * checks are not in KEYS, but they carry the index's hash tag: the same Cluster slot.
 */
export const EXPIRED_LEASES = `
local found = {}
local limit = tonumber(ARGV[2])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  if redis.call('EXISTS', ARGV[4] .. member) == 1 then
    if #found < limit then table.insert(found, member) end
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return found`;


/**
 * KEYS[1]: a bucket's lease index. ARGV: owner, limit, the bucket's hash key prefix. Answers the
 * keys of live transactions whose lease `owner` holds, lapsed or not, and ends before the record
 * (a dead worker's, at its death notice; a lease to the record's end is a lingering transaction's,
 * left alone): every leased entry of the index is read (HMGET owner until exp), so it costs what the bucket
 * holds; it runs once per bucket per death, never on the message path. Entries whose hash is gone
 * are dropped.
 */
export const LEASES_HELD_BY = `
local found = {}
local limit = tonumber(ARGV[2])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(-inf', '+inf')) do
  local fields = redis.call('HMGET', ARGV[3] .. member, 'owner', 'until', 'exp')
  local owner = fields[1]
  if owner == ARGV[1] then
    if tonumber(fields[2]) < tonumber(fields[3]) then
      table.insert(found, member)
      if #found >= limit then break end
    end
  elseif not owner and redis.call('EXISTS', ARGV[3] .. member) == 0 then
    redis.call('ZREM', KEYS[1], member)
  end
end
return found`;
