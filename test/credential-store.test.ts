import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { MemoryCredentialStore, MemoryTotpStore, RedisCredentialStore, RedisTotpStore } from '../lib/index.js'
import { freshRedis } from './helpers/app.js'
import { manualClock } from './helpers/clock.js'
import { credentialStoreContract, quiet, redisCredentialStore } from './helpers/credential-store-contract.js'

t.test('MemoryCredentialStore passes the credential store contract', async (t) => {
  credentialStoreContract(t, async () => {
    const clock = manualClock()
    return { store: new MemoryCredentialStore({ now: clock.now }), clock }
  })
})

t.test('RedisCredentialStore passes the credential store contract', async (t) => {
  credentialStoreContract(t, async () => await redisCredentialStore(await freshRedis()))
})

t.test('RedisTotpStore, the 0.1 name and form, is a RedisCredentialStore with the 0.1 keys', async (t) => {
  const client = await freshRedis()
  const store = new RedisTotpStore({ client, keyPrefix: 'app1:', acceptDataLoss: true })
  t.ok(store instanceof RedisCredentialStore)
  await store.init(quiet)
  t.same(await client.keys('*'), ['app1:credentials-marker'], 'init writes the marker')
  await store.savePending('ana@example.com', 'sealed', 60_000)
  t.same((await client.keys('*')).sort(), ['app1:credentials-marker', 'app1:{ana@example.com}:totp'])
  const pttl = await client.pttl('app1:{ana@example.com}:totp')
  t.ok(pttl > 0 && pttl <= 60_000, 'a pending setup expires')
  await store.enable('ana@example.com', 'sealed', ['h1'], 7)
  t.equal(await client.pttl('app1:{ana@example.com}:totp'), -1, 'an enabled authenticator has no TTL')
  t.same(await client.hgetall('app1:{ana@example.com}:totp'), { s: 'sealed', on: '1', step: '7', 'r:h1': '1' })
})

t.test('MemoryTotpStore: a pending setup expires on its clock', async (t) => {
  let now = 0
  const store = new MemoryTotpStore({ now: () => now })
  await store.savePending('+15551000001', 's', 1000)
  now = 999
  t.ok(await store.get('+15551000001'))
  now = 1000
  t.equal(await store.get('+15551000001'), undefined)
})

t.test('RedisCredentialStore: Redis ends a pending setup on its own (the contract moves TTLs instead of waiting)', async (t) => {
  // Real waiting, only ever for something to be gone: a slower machine only waits longer.
  const client = await freshRedis()
  const store = new RedisCredentialStore(client, { acceptDataLoss: true })
  await store.init(quiet)
  await store.savePending('+15551000002', 's', 100)
  await sleep(200)
  t.equal(await store.get('+15551000002'), undefined)
  t.equal(await store.enable('+15551000002', 's', [], 1), false)
})
