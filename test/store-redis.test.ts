import t from 'tap'
import { RedisStore } from '../lib/index.js'
import { freshRedis } from './helpers/app.js'
import { storeContract } from './helpers/store-contract.js'

for (const kind of ['phone', 'email'] as const) {
  t.test(`RedisStore passes the store contract (${kind} identifiers)`, async (t) => {
    storeContract(t, async () => new RedisStore({ client: await freshRedis() }), kind)
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
