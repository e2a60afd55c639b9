import type { Cluster } from 'ioredis'
import t from 'tap'
import { RedisStore } from '../lib/index.js'
import { buildApp, CODE_SECRET, wrongCode } from './helpers/app.js'
import { RedisCluster } from './helpers/cluster.js'
import { redisClock } from './helpers/clock.js'
import { storeContract } from './helpers/store-contract.js'

// One 3-master Redis Cluster for the whole file.
const starting = RedisCluster.start()
t.teardown(async () => { await (await starting).stop() })

const policy = {
  issue: { codeTtlMs: 60_000, maxSends: 3, windowMs: 60_000, resendIntervalMs: 0 },
  verify: { maxAttempts: 3, maxFailures: 5, lockoutMs: 60_000 }
}

async function freshCluster (): Promise<Cluster> {
  const cluster = await starting
  await cluster.flush()
  return await cluster.client()
}

/** Which node holds each key, as the nodes themselves say. */
async function keysByNode (cluster: RedisCluster): Promise<string[][]> {
  return await Promise.all(cluster.nodes.map(async (_, i) => (await cluster.admin(i)).keys('*')))
}

for (const kind of ['phone', 'email'] as const) {
  t.test(`RedisStore passes the store contract on a Cluster client (${kind} identifiers)`, async (t) => {
    storeContract(t, async () => {
      const client = await freshCluster()
      return { store: new RedisStore({ client }), clock: redisClock(client) }
    }, kind)
  })
}

t.test("an identifier's keys share one slot, and identifiers spread over every master", async (t) => {
  const client = await freshCluster()
  const store = new RedisStore({ client })
  const ids = Array.from({ length: 30 }, (_, i) => `+1555123${String(i).padStart(4, '0')}`)
  for (const id of ids) {
    await store.issueCode(id, 'right', policy.issue)
    await store.verifyCode(id, 'wrong', policy.verify) // adds the fails key
  }

  const byNode = await keysByNode(await starting)
  t.equal(byNode.flat().length, ids.length * 3, 'code, sends and fails for every identifier')
  t.ok(byNode.every((keys) => keys.length > 0), `every master holds keys (${byNode.map((keys) => keys.length).join(', ')})`)
  for (const id of ids) {
    const holders = byNode.filter((keys) => keys.some((key) => key.includes(`{${id}}`)))
    t.equal(holders.length, 1, `${id}: one node`)
    const slots = new Set(await Promise.all(['code', 'sends', 'last', 'lock', 'fails']
      .map((name) => client.cluster('KEYSLOT', `otp:{${id}}:${name}`))))
    t.equal(slots.size, 1, `${id}: one slot`)
  }
  for (const id of ids) t.same(await store.verifyCode(id, 'right', policy.verify), { status: 'ok' })
  t.equal((await keysByNode(await starting)).flat().length, 0, 'a success removes every key of the identifier')
})

t.test('the routes on Cluster: login, verify, /me, with the route rate limiter on', async (t) => {
  const client = await freshCluster()
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', {
    redis: client,
    codeSecret: CODE_SECRET,
    resendInterval: 0,
    rateLimit: { login: { max: 3, timeWindow: 60_000 }, verify: { max: 3, timeWindow: 60_000 } }
  })
  const phones = ['+919876543210', '+14155550123', '+442079460000']

  for (const phone of phones) t.equal((await login(phone, '10.0.0.1')).statusCode, 200, `login ${phone}`)
  const limited = await login(phones[0] ?? '', '10.0.0.1')
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'OTP_RATE_LIMITED', 'the fourth login from one IP')

  const [first = '', second = ''] = phones
  t.equal((await verify(first, wrongCode(codeFor(first)), '10.0.0.2')).statusCode, 401)
  const verified = await verify(first, codeFor(first), '10.0.0.2')
  t.equal(verified.statusCode, 200)
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${verified.json().access}` } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().phone, first)
  t.equal((await verify(first, codeFor(first), '10.0.0.2')).statusCode, 401, 'no replay')
  t.equal((await verify(second, codeFor(second), '10.0.0.2')).json().code, 'OTP_RATE_LIMITED', 'the fourth verify from one IP')
  t.equal((await verify(second, codeFor(second), '10.0.0.3')).statusCode, 200, 'another IP has its own budget')

  const counters = (await keysByNode(await starting)).flat().filter((key) => key.startsWith('otp:rl:'))
  t.equal(counters.length, 3, 'one counter per route and IP, in the cluster')
})

t.test('sessions, e-mail codes and SMS budgets on Cluster: refresh, reuse, logout', async (t) => {
  const client = await freshCluster()
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', {
    redis: client, codeSecret: CODE_SECRET, identifierKinds: ['phone', 'email'], smsBudget: { 91: 1 }, resendInterval: 0, refreshGrace: 0
  })
  t.equal((await login('+919876543210')).statusCode, 200)
  t.equal((await login('+919876543211')).json().code, 'OTP_SEND_BUDGET_EXCEEDED', 'the budget counter works on Cluster')
  await login('ana@example.com')
  const tokens = (await verify('ana@example.com', codeFor('ana@example.com'))).json()
  const post = async (url: string, payload?: object, access?: string) => await app.inject({
    method: 'POST', url, ...(payload ? { payload } : {}), headers: access ? { authorization: `Bearer ${access}` } : {}
  })
  const next = await post('/refresh', { refresh: tokens.refresh })
  t.equal(next.statusCode, 200, 'refresh')
  t.equal((await post('/refresh', { refresh: tokens.refresh })).json().code, 'OTP_REFRESH_REUSED', 'reuse detected')
  const again = (await verify('+919876543210', codeFor('+919876543210'))).json()
  t.equal((await post('/logout', undefined, again.access)).statusCode, 204, 'logout')
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${again.access}` } })
  t.equal(me.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED', 'revoked after logout')
})

t.test('no node ever answered CROSSSLOT', async (t) => {
  const cluster = await starting
  for (let i = 0; i < cluster.nodes.length; i++) {
    const errors = await (await cluster.admin(i)).info('errorstats')
    t.notMatch(errors, /CROSSSLOT/, `node ${i}: ${errors.replace(/\s+/g, ' ').trim()}`)
  }
})
