import type { Test } from 'tap'
import type { TotpStore } from '../../lib/index.js'
import type { Timed } from './clock.js'

/**
 * The behaviour every TotpStore must have, run against each implementation (and fit for a host's own store).
 * `makeStore` gives a store with no state and the clock that moves it (see clock.ts): expiry of a pending setup
 * is shown by moving time, never by waiting.
 */
export function totpStoreContract (t: Test, makeStore: () => Promise<Timed<TotpStore>>): void {
  let n = 0
  const id = (): string => `+1555100${String(++n).padStart(4, '0')}`
  const hour = 3_600_000

  t.test('a pending setup is readable, not enabled, and can be replaced', async (t) => {
    const { store } = await makeStore()
    const a = id()
    t.equal(await store.get(a), undefined)
    t.equal(await store.savePending(a, 'secret1', hour), true)
    t.match(await store.get(a), { secret: 'secret1', enabled: false })
    t.equal(await store.savePending(a, 'secret2', hour), true)
    t.match(await store.get(a), { secret: 'secret2', enabled: false })
  })

  t.test('a pending setup expires', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    await store.savePending(a, 's', 10_000)
    await clock.advance(5_000)
    t.match(await store.get(a), { secret: 's', enabled: false }, 'halfway through, still pending')
    await clock.advance(5_000)
    t.equal(await store.get(a), undefined)
    t.equal(await store.enable(a, 's', ['h'], 1), false, 'an expired setup cannot be confirmed')
  })

  t.test('enable needs the pending secret; then it is on, for good', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    t.equal(await store.enable(a, 's', ['h'], 1), false, 'nothing pending')
    await store.savePending(a, 'new', 10_000)
    t.equal(await store.enable(a, 'old', ['h'], 1), false, 'a setup replaced since it was read')
    t.equal(await store.enable(a, 'new', ['h'], 1), true)
    t.match(await store.get(a), { secret: 'new', enabled: true })
    t.equal(await store.enable(a, 'new', ['h'], 2), false, 'already on')
    t.equal(await store.savePending(a, 'other', hour), false, 'no new setup while on')
    await clock.advance(20_000)
    t.match(await store.get(a), { secret: 'new', enabled: true }, 'an enabled record does not expire')
  })

  t.test('useStep: only later steps, never the confirming one', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    t.equal(await store.useStep(a, 100), false, 'not while pending')
    await store.enable(a, 's', [], 100)
    t.equal(await store.useStep(a, 100), false, 'the step that confirmed')
    t.equal(await store.useStep(a, 99), false, 'an earlier step')
    t.equal(await store.useStep(a, 101), true)
    t.equal(await store.useStep(a, 101), false, 'a replay')
    t.equal(await store.useStep(a, 103), true)
    t.equal(await store.useStep(a, 102), false, 'a step before the last used one')
    t.equal(await store.useStep(id(), 1), false, 'no record')
  })

  t.test('20 parallel useStep calls for one step: exactly one wins', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    await store.enable(a, 's', [], 1)
    const results = await Promise.all(Array.from({ length: 20 }, () => store.useStep(a, 2)))
    t.equal(results.filter(Boolean).length, 1)
  })

  t.test('recovery codes: each works once, only its own identifier, only when on', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const b = id()
    await store.savePending(a, 's', hour)
    t.equal(await store.useRecoveryCode(a, 'h1'), false, 'not while pending')
    await store.enable(a, 's', ['h1', 'h2'], 1)
    t.equal(await store.useRecoveryCode(b, 'h1'), false, 'another identifier')
    t.equal(await store.useRecoveryCode(a, 'h1'), true)
    t.equal(await store.useRecoveryCode(a, 'h1'), false, 'used')
    t.equal(await store.useRecoveryCode(a, 'nope'), false)
    const parallel = await Promise.all(Array.from({ length: 20 }, () => store.useRecoveryCode(a, 'h2')))
    t.equal(parallel.filter(Boolean).length, 1, 'parallel uses of one code: one wins')
  })

  t.test('disable removes everything; a new setup starts clean', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    await store.enable(a, 's', ['h1'], 50)
    await store.disable(a)
    t.equal(await store.get(a), undefined)
    t.equal(await store.useRecoveryCode(a, 'h1'), false)
    t.equal(await store.useStep(a, 51), false)
    await store.disable(a)
    t.pass('disabling twice is fine')
    t.equal(await store.savePending(a, 's2', hour), true)
    t.equal(await store.enable(a, 's2', [], 10), true)
    t.equal(await store.useStep(a, 11), true, 'the last used step started again')
    t.equal(await store.useRecoveryCode(a, 'h1'), false, 'old recovery codes are gone')
  })
}
