import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { RedisStore } from '../lib/index.js'
import { PARKED_MS } from '../lib/store/types.js'
import { freshRedis } from './helpers/app.js'
import { redisClock } from './helpers/clock.js'
import { storeContract } from './helpers/store-contract.js'

for (const kind of ['phone', 'email'] as const) {
  t.test(`RedisStore passes the store contract (${kind} identifiers)`, async (t) => {
    storeContract(t, async () => {
      const client = await freshRedis()
      return { store: new RedisStore({ client }), clock: redisClock(client) }
    }, kind)
  })
}

t.test('scripts are defined once per client and keys carry the prefix and one hash tag', async (t) => {
  const client = await freshRedis()
  const a = new RedisStore({ client, keyPrefix: 'app1:' })
  const b = new RedisStore({ client, keyPrefix: 'app1:' })
  t.equal(typeof (client as unknown as Record<string, unknown>).otpLoginIssue, 'function')
  await a.issueCode('+15550001', 'h', { codeTtlMs: 1000, maxSends: 3, windowMs: 1000, resendIntervalMs: 1000 })
  await b.verifyCode('+15550001', 'x', { maxAttempts: 3, maxFailures: 5, lockoutMs: 1000 })
  const keys = (await client.keys('*')).sort()
  t.same(keys, ['app1:{+15550001}:code', 'app1:{+15550001}:fails', 'app1:{+15550001}:last', 'app1:{+15550001}:sends'])
})

t.test('Redis ends on its own what the scripts gave a TTL (the contract moves TTLs instead of waiting)', async (t) => {
  // Real waiting, only ever for something to be gone: a slower machine only waits longer.
  const client = await freshRedis()
  const store = new RedisStore({ client })
  const a = '+15550002001'
  await store.issueCode(a, 'c1', { codeTtlMs: 100, maxSends: 1, windowMs: 100, resendIntervalMs: 100 })
  await store.createChallenge(a, 'ch', 'd', 100)
  await store.lockOut('+15550002002', 100)
  await store.createSession('u1', 's1', { tokenHash: 't1', claims: '{}', amr: '[]' }, { ttlMs: 100, now: Date.now() })
  t.ok((await client.keys('*')).length >= 6, 'code, sends, last, challenge, lock, session and its index')
  await sleep(200)
  t.same(await client.keys('*'), [], 'every key is gone')
  t.same(await store.issueCode(a, 'c2', { codeTtlMs: 100, maxSends: 1, windowMs: 100, resendIntervalMs: 100 }), { status: 'issued' })
})

t.test('a script answer its decoder does not know rejects (the routes answer 503), never passes for a result', async (t) => {
  const client = await freshRedis()
  // Defined first, so the store keeps it: a script that answers a word its decoder never heard of.
  client.defineCommand('otpLoginVerify', { numberOfKeys: 5, lua: "return {'maybe'}" })
  const store = new RedisStore({ client })
  await t.rejects(store.verifyCode('+15550003001', 'h', { maxAttempts: 3, maxFailures: 5, lockoutMs: 1000 }), /unexpected answer from a store script: \["maybe"\]/)
})

t.test('a rotation whose session lost its claims (damaged data) is refused, never a session without claims', async (t) => {
  const client = await freshRedis()
  const store = new RedisStore({ client })
  const policy = { ttlMs: 60_000, now: Date.now() }
  await store.createSession('user-key', 'sid-1', { tokenHash: 'old', claims: '{"sub":"u1"}', amr: '["sms"]' }, policy)
  const [key] = await client.keys('*:s:sid-1')
  t.ok(key, 'the session hash')
  await client.hdel(key ?? '', 'claims')
  t.same(await store.rotateSession('user-key', 'sid-1', 'old', 'new', policy), { status: 'invalid' })
})

t.test('a session ended beyond maxSessions is parked under its user\'s hash tag for PARKED_MS, then gone', async (t) => {
  const client = await freshRedis()
  const store = new RedisStore({ client })
  const policy = { ttlMs: 3_600_000, now: Date.now(), maxSessions: 1, graceMs: 10_000 }
  const record = { tokenHash: 't1', claims: '{}', amr: '[]' }
  await store.createSession('uk', 's1', record, policy)
  await store.rotateSession('uk', 's1', 't1', 't2', policy)
  await store.createSession('uk', 's2', record, policy)
  const parked = (await client.keys('*parked*')).sort()
  t.same(parked, ['otp:{u:uk}:s:s1:grace:parked', 'otp:{u:uk}:s:s1:parked', 'otp:{u:uk}:s:s1:spent:parked', 'otp:{u:uk}:sessions:parked'])
  const ttls = await Promise.all(parked.map(async (key) => await client.pttl(key)))
  t.ok(ttls.every((ttl) => ttl > 0 && ttl <= PARKED_MS), 'a minute at most, not the session\'s hour')
  t.same(await client.exists('otp:{u:uk}:s:s1', 'otp:{u:uk}:s:s1:spent', 'otp:{u:uk}:s:s1:grace'), 0, 'nothing of it is live')
  t.same(await store.restoreSessions('uk', ['s1']), ['s1'])
  t.same(await client.keys('*parked*'), [], 'a restore leaves no parked key')
  t.ok(await client.pttl('otp:{u:uk}:s:s1') > PARKED_MS, 'the session has its hour back')
  t.ok(await client.pttl('otp:{u:uk}:s:s1:spent') > PARKED_MS)
  t.equal(await client.hget('otp:{u:uk}:s:s1', 'pttl'), null, 'nor a field of its own')
})
