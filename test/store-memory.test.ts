import t from 'tap'
import { MemoryStore } from '../lib/index.js'
import { manualClock } from './helpers/clock.js'
import { storeContract } from './helpers/store-contract.js'

for (const kind of ['phone', 'email'] as const) {
  t.test(`MemoryStore passes the store contract (${kind} identifiers)`, async (t) => {
    storeContract(t, async () => {
      const clock = manualClock()
      const store = new MemoryStore({ now: clock.now })
      t.teardown(() => store.close())
      return { store, clock }
    }, kind)
  })
}

t.test('expired entries are swept, so memory stays bounded', async (t) => {
  let now = 0
  const store = new MemoryStore({ now: () => now, sweepInterval: 60_000 })
  t.teardown(() => store.close())
  const issue = { codeTtlMs: 1000, maxSends: 3, windowMs: 5000, resendIntervalMs: 500 }
  for (let i = 0; i < 1000; i++) await store.issueCode(`+1555${i}`, 'h', issue)
  await store.verifyCode('+15550', 'wrong', { maxAttempts: 3, maxFailures: 1, lockoutMs: 8000 })
  t.equal(store.size, 1000)
  now = 5001
  store.sweep()
  t.equal(store.size, 1, 'only the locked-out identifier is left')
  now = 8001
  store.sweep()
  t.equal(store.size, 0)
})

t.test('the sweep runs on its own timer', async (t) => {
  let now = 0
  const store = new MemoryStore({ now: () => now, sweepInterval: 20 })
  t.teardown(() => store.close())
  await store.issueCode('+15551', 'h', { codeTtlMs: 10, maxSends: 3, windowMs: 10, resendIntervalMs: 0 })
  now = 11
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(store.size, 0)
})
