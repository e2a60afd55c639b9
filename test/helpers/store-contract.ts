import type { Test } from 'tap'
import type { IssuePolicy, OtpStore, SessionPolicy, VerifyPolicy } from '../../lib/index.js'
import { SPENT_KEPT } from '../../lib/store/types.js'
import type { TestClock, Timed } from './clock.js'
import { graceContract } from './session-grace-contract.js'
import { parkContract } from './session-park-contract.js'

const issue: IssuePolicy = { codeTtlMs: 60_000, maxSends: 3, windowMs: 60_000, resendIntervalMs: 0 }
const verify: VerifyPolicy = { maxAttempts: 3, maxFailures: 5, lockoutMs: 60_000 }

/**
 * The behaviour every OtpStore must have, run against each implementation. `makeStore` gives a store with no
 * state and the clock that moves it (see clock.ts): where expiry matters, time is moved, never waited for. The
 * times it lets pass stay seconds away from every TTL, so the real time a store call takes never matters.
 */
export function storeContract (t: Test, makeStore: () => Promise<Timed<OtpStore>>, kind: 'phone' | 'email' = 'phone'): void {
  let n = 0
  // A fresh identifier per test, so tests never see each other's state.
  const id = (): string => kind === 'phone' ? `+1555000${String(++n).padStart(4, '0')}` : `user${++n}@example.com`

  t.test('a right code verifies once, then is gone', async (t) => {
    const { store } = await makeStore()
    const a = id()
    t.same(await store.issueCode(a, 'h1', issue), { status: 'issued' })
    t.same(await store.verifyCode(a, 'h1', verify), { status: 'ok' })
    t.same(await store.verifyCode(a, 'h1', verify), { status: 'invalid' }, 'replay refused')
  })

  t.test('no code: invalid, and no failure is counted', async (t) => {
    const { store } = await makeStore()
    const a = id()
    for (let i = 0; i < verify.maxFailures + 2; i++) {
      t.same(await store.verifyCode(a, 'never', verify), { status: 'invalid' })
    }
    t.same(await store.issueCode(a, 'h1', issue), { status: 'issued' }, 'not locked out')
  })

  t.test('a code is bound to its identifier', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const b = id()
    await store.issueCode(a, 'ha', issue)
    t.same(await store.verifyCode(b, 'ha', verify), { status: 'invalid' })
    t.same(await store.verifyCode(a, 'ha', verify), { status: 'ok' })
  })

  t.test('maxAttempts wrong guesses burn the code, even for the right one after', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.issueCode(a, 'right', issue)
    t.same(await store.verifyCode(a, 'w1', verify), { status: 'invalid' })
    t.same(await store.verifyCode(a, 'w2', verify), { status: 'invalid' })
    t.same(await store.verifyCode(a, 'w3', verify), { status: 'burned' }, 'the burning guess says so')
    t.same(await store.verifyCode(a, 'right', verify), { status: 'burned' })
    t.same(await store.verifyCode(a, 'w4', verify), { status: 'burned' })
  })

  t.test('a new code replaces the old one and starts its own attempt count', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.issueCode(a, 'old', issue)
    await store.verifyCode(a, 'w1', verify)
    await store.verifyCode(a, 'w2', verify)
    await store.issueCode(a, 'new', issue)
    t.same(await store.verifyCode(a, 'old', verify), { status: 'invalid' }, 'the old code no longer works')
    t.same(await store.verifyCode(a, 'new', verify), { status: 'ok' }, 'one wrong guess on the new code is not a burn')
  })

  t.test('failures add up across codes and lock the identifier out', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.issueCode(a, 'c1', issue)
    await store.verifyCode(a, 'w', verify)
    await store.verifyCode(a, 'w', verify)
    await store.issueCode(a, 'c2', issue)
    await store.verifyCode(a, 'w', verify)
    t.same(await store.verifyCode(a, 'w', verify), { status: 'invalid' }, 'fourth failure')
    const locked = await store.verifyCode(a, 'w', verify)
    t.equal(locked.status, 'locked', 'fifth failure locks')
    t.ok(locked.status === 'locked' && locked.retryAfterMs > 59_000 && locked.retryAfterMs <= 60_000)
    const right = await store.verifyCode(a, 'c2', verify)
    t.equal(right.status, 'locked', 'even the right code is refused')
    const again = await store.issueCode(a, 'c3', issue)
    t.equal(again.status, 'locked', 'no new code while locked')
    t.ok(again.status === 'locked' && again.retryAfterMs > 0 && again.retryAfterMs <= 60_000)
  })

  t.test('a lockout ends after lockoutMs, and the failure count starts again', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const short = { ...verify, maxFailures: 2, lockoutMs: 10_000 }
    await store.issueCode(a, 'c1', issue)
    await store.verifyCode(a, 'w', short)
    t.equal((await store.verifyCode(a, 'w', short)).status, 'locked')
    await clock.advance(5_000)
    t.equal((await store.issueCode(a, 'c2', issue)).status, 'locked', 'halfway through, still locked out')
    await clock.advance(5_000)
    t.same(await store.issueCode(a, 'c2', issue), { status: 'issued' })
    t.same(await store.verifyCode(a, 'w', short), { status: 'invalid' }, 'one failure is not a lockout')
    t.same(await store.verifyCode(a, 'c2', short), { status: 'ok' })
  })

  t.test('maxSends codes per window, then locked until the window ends', async (t) => {
    const { store } = await makeStore()
    const a = id()
    for (let i = 0; i < issue.maxSends; i++) t.same(await store.issueCode(a, `c${i}`, issue), { status: 'issued' })
    const refused = await store.issueCode(a, 'c9', issue)
    t.equal(refused.status, 'locked')
    t.ok(refused.status === 'locked' && refused.retryAfterMs > 0 && refused.retryAfterMs <= issue.windowMs)
    t.same(await store.verifyCode(a, `c${issue.maxSends - 1}`, verify), { status: 'ok' }, 'the last code still works')
  })

  t.test('the send window ends', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const short = { ...issue, maxSends: 1, windowMs: 10_000 }
    await store.issueCode(a, 'c1', short)
    t.equal((await store.issueCode(a, 'c2', short)).status, 'locked')
    await clock.advance(5_000)
    t.equal((await store.issueCode(a, 'c2', short)).status, 'locked', 'halfway through the window, still none')
    await clock.advance(5_000)
    t.same(await store.issueCode(a, 'c3', short), { status: 'issued' })
  })

  t.test('resend interval', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const paced = { ...issue, resendIntervalMs: 10_000 }
    await store.issueCode(a, 'c1', paced)
    const early = await store.issueCode(a, 'c2', paced)
    t.equal(early.status, 'too_soon')
    t.ok(early.status === 'too_soon' && early.retryAfterMs > 5_000 && early.retryAfterMs <= 10_000)
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'ok' }, 'a refused resend leaves the code alone')
    await store.issueCode(a, 'c3', { ...paced, resendIntervalMs: 0 })
    await clock.advance(10_000)
    t.same(await store.issueCode(a, 'c4', paced), { status: 'issued' })
  })

  t.test('a code expires after codeTtlMs', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const b = id()
    await store.issueCode(a, 'c1', { ...issue, codeTtlMs: 10_000 })
    await store.issueCode(b, 'c1', { ...issue, codeTtlMs: 10_000 })
    await clock.advance(5_000)
    t.same(await store.verifyCode(b, 'c1', verify), { status: 'ok' }, 'halfway through, a code still works')
    await clock.advance(5_000)
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'invalid' })
  })

  t.test('success resets the send and failure counters', async (t) => {
    const { store } = await makeStore()
    const a = id()
    for (let i = 0; i < issue.maxSends; i++) await store.issueCode(a, `c${i}`, issue)
    const patient = { ...verify, maxAttempts: 10 }
    for (let i = 0; i < verify.maxFailures - 1; i++) await store.verifyCode(a, 'w', patient)
    t.same(await store.verifyCode(a, `c${issue.maxSends - 1}`, patient), { status: 'ok' })
    t.same(await store.issueCode(a, 'next', issue), { status: 'issued' }, 'sends reset')
    t.same(await store.verifyCode(a, 'w', verify), { status: 'invalid' }, 'failures reset: one more is no lockout')
    t.same(await store.verifyCode(a, 'next', verify), { status: 'ok' })
  })

  t.test('deferReset: a right code is consumed, the counters wait for resetCounters', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const deferred = { ...verify, maxAttempts: 10, deferReset: true }
    for (let i = 0; i < issue.maxSends; i++) await store.issueCode(a, `c${i}`, issue)
    await store.verifyCode(a, 'w', deferred)
    t.same(await store.verifyCode(a, `c${issue.maxSends - 1}`, deferred), { status: 'ok' })
    t.same(await store.verifyCode(a, `c${issue.maxSends - 1}`, deferred), { status: 'invalid' }, 'consumed')
    t.equal((await store.issueCode(a, 'next', issue)).status, 'locked', 'the sends still count')
    await store.resetCounters(a)
    t.same(await store.issueCode(a, 'next', issue), { status: 'issued' }, 'until the reset')
    for (let i = 0; i < verify.maxFailures - 1; i++) t.equal((await store.verifyCode(a, 'w', { ...deferred, maxAttempts: 100 })).status, 'invalid', 'failures were reset too')
  })

  t.test('revoke drops the code and gives the send back', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const once = { ...issue, maxSends: 1, resendIntervalMs: 60_000 }
    await store.issueCode(a, 'c1', once)
    await store.revokeCode(a, 'c1', true)
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'invalid' })
    t.same(await store.issueCode(a, 'c2', once), { status: 'issued' }, 'neither maxSends nor the resend interval count it')
  })

  t.test('revoke without giving the send back: the code goes, the send still counts', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.issueCode(a, 'c1', { ...issue, resendIntervalMs: 60_000 })
    await store.revokeCode(a, 'c1', false)
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'invalid' })
    t.equal((await store.issueCode(a, 'c2', issue)).status, 'too_soon', 'the resend wait stays')
    const b = id()
    await store.issueCode(b, 'c1', { ...issue, maxSends: 1 })
    await store.revokeCode(b, 'c1', false)
    t.equal((await store.issueCode(b, 'c2', { ...issue, maxSends: 1 })).status, 'locked', 'maxSends counts it')
  })

  t.test('revoke leaves a newer code alone', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.issueCode(a, 'c1', issue)
    await store.issueCode(a, 'c2', issue)
    await store.revokeCode(a, 'c1', true)
    t.same(await store.verifyCode(a, 'c2', verify), { status: 'ok' })
  })

  t.test('revoke of a replaced code still gives its send back; the newer code keeps its resend wait', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const twice = { ...issue, maxSends: 2 }
    await store.issueCode(a, 'c1', twice)
    await store.issueCode(a, 'c2', { ...twice, resendIntervalMs: 60_000 })
    await store.revokeCode(a, 'c1', true)
    t.equal((await store.issueCode(a, 'c3', twice)).status, 'too_soon', "c2's resend wait stays")
    t.same(await store.verifyCode(a, 'c2', verify), { status: 'ok' }, 'and c2 works')
    const b = id()
    await store.issueCode(b, 'c1', twice)
    await store.issueCode(b, 'c2', twice)
    await store.revokeCode(b, 'c1', true)
    t.same(await store.issueCode(b, 'c3', twice), { status: 'issued' }, "c1's send was given back: maxSends is not reached")
    t.equal((await store.issueCode(b, 'c4', twice)).status, 'locked', 'but c2 still counts')
  })

  t.test('50 parallel verifies of the right code: exactly one ok', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.issueCode(a, 'right', issue)
    const results = await Promise.all(Array.from({ length: 50 }, () => store.verifyCode(a, 'right', verify)))
    t.equal(results.filter((r) => r.status === 'ok').length, 1)
    t.equal(results.filter((r) => r.status === 'invalid').length, 49)
  })

  t.test('50 parallel wrong guesses: no more than maxAttempts are checked', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const policy = { ...verify, maxFailures: 1000 }
    await store.issueCode(a, 'right', issue)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.verifyCode(a, `wrong${i}`, policy)))
    t.equal(results.filter((r) => r.status === 'invalid').length, policy.maxAttempts - 1)
    t.equal(results.filter((r) => r.status === 'burned').length, 50 - (policy.maxAttempts - 1))
    t.same(await store.verifyCode(a, 'right', policy), { status: 'burned' })
  })

  t.test('parallel logins never exceed maxSends', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.issueCode(a, `c${i}`, issue)))
    t.equal(results.filter((r) => r.status === 'issued').length, issue.maxSends)
  })

  // The ceiling (maxSendsPerIdentifier): one count per identifier over its own sends and all its devices'.
  const ceiling: IssuePolicy = { ...issue, maxSendsPerIdentifier: 5 }

  t.test('one ceiling per identifier across all its devices; maxSends applies within it', async (t) => {
    const { store } = await makeStore()
    const a = id()
    for (let i = 0; i < 3; i++) t.same(await store.issueCode(a, `c${i}`, ceiling), { status: 'issued' })
    t.match(await store.issueCode(a, 'c3', ceiling), { status: 'locked', reason: 'max-sends' }, "the identifier's own maxSends")
    t.same(await store.issueCode(a, 'd1', ceiling, 'device1'), { status: 'issued' }, 'a device: 4 of 5')
    t.same(await store.issueCode(a, 'd2', ceiling, 'device2'), { status: 'issued' }, 'another: 5 of 5')
    const refused = await store.issueCode(a, 'd3', ceiling, 'device3')
    t.match(refused, { status: 'locked', reason: 'max-sends-per-identifier' }, 'a third device: the ceiling')
    t.ok(refused.status === 'locked' && refused.retryAfterMs > 50_000 && refused.retryAfterMs <= ceiling.windowMs, 'until its window ends')
    t.match(await store.issueCode(a, 'd1b', ceiling, 'device1'), { status: 'locked', reason: 'max-sends-per-identifier' }, 'a device with sends left')
    t.match(await store.issueCode(a, 'c4', ceiling), { status: 'locked', reason: 'max-sends-per-identifier' }, 'the identifier too')
    t.same(await store.verifyCode(a, 'd2', verify, 'device2'), { status: 'ok' }, 'the codes issued still work')
    t.same(await store.issueCode(id(), 'x', ceiling, 'device1'), { status: 'issued' }, 'another identifier has its own ceiling')
  })

  t.test('the ceiling: a sign-in does not reset it; its window ends', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const short = { ...ceiling, windowMs: 10_000 }
    for (let i = 0; i < 3; i++) await store.issueCode(a, `d1-${i}`, short, 'device1')
    await store.issueCode(a, 'd2', short, 'device2')
    await clock.advance(5_000)
    t.same(await store.issueCode(a, 'c1', short), { status: 'issued' }, '5 of 5, the last one 5 s into the window')
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'ok' }, 'a sign-in')
    await store.resetCounters(a, 'device1')
    t.match(await store.issueCode(a, 'c2', short), { status: 'locked', reason: 'max-sends-per-identifier' }, 'still at the ceiling')
    t.match(await store.issueCode(a, 'd1', short, 'device1'), { status: 'locked', reason: 'max-sends-per-identifier' })
    await clock.advance(5_000)
    t.same(await store.issueCode(a, 'd1', short, 'device1'), { status: 'issued' }, 'a window from its first code, fixed')
  })

  t.test('the ceiling: a send given back frees its place under it, also a replaced code\'s, one not given back does not', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const tight = { ...ceiling, maxSendsPerIdentifier: 3 }
    await store.issueCode(a, 'c1', tight)
    await store.issueCode(a, 'd1', tight, 'device1')
    await store.issueCode(a, 'd2', tight, 'device2')
    t.match(await store.issueCode(a, 'd3', tight, 'device3'), { status: 'locked', reason: 'max-sends-per-identifier' })
    await store.revokeCode(a, 'd2', true, 'device2')
    t.same(await store.issueCode(a, 'd3', tight, 'device3'), { status: 'issued' }, 'given back')
    await store.revokeCode(a, 'd3', false, 'device3')
    t.match(await store.issueCode(a, 'd4', tight, 'device4'), { status: 'locked', reason: 'max-sends-per-identifier' }, 'not given back')
    // A code that a newer one replaced (device1's current code is d1) was never sent either, when a late issue
    // is undone after a 503: its place is given back too, as its maxSends send is.
    await store.revokeCode(a, 'an-older-code', true, 'device1')
    t.same(await store.issueCode(a, 'd4', tight, 'device4'), { status: 'issued' }, 'given back by a revoke of a replaced code')
  })

  t.test('the ceiling: a refused send counts nothing under it, also the first of its window', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const one = { ...ceiling, maxSendsPerIdentifier: 1, resendIntervalMs: 1_000 }
    await store.lockOut(a, 2_000)
    t.match(await store.issueCode(a, 'c1', one), { status: 'locked', reason: 'locked' }, 'locked out: refused')
    await clock.advance(2_000)
    t.same(await store.issueCode(a, 'c2', one), { status: 'issued' }, 'the refused send took no place: 1 of 1')
    t.match(await store.issueCode(a, 'd1', one, 'device1'), { status: 'locked', reason: 'max-sends-per-identifier' }, 'now at the ceiling')
    const b = id()
    t.same(await store.issueCode(b, 'c1', { ...one, maxSendsPerIdentifier: 2 }), { status: 'issued' })
    t.match(await store.issueCode(b, 'c2', { ...one, maxSendsPerIdentifier: 2 }), { status: 'too_soon' }, 'too soon: refused')
    t.same(await store.issueCode(b, 'd1', { ...one, maxSendsPerIdentifier: 2 }, 'device1'), { status: 'issued' }, 'a device: 2 of 2, the refused one not counted')
  })

  t.test('the ceiling: 40 parallel issues over 8 devices and the identifier, exactly the ceiling issued', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const devices = [undefined, ...Array.from({ length: 8 }, (_, i) => `device${i}`)]
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.issueCode(a, `c${i}`, ceiling, devices[i % devices.length])))
    t.equal(results.filter((r) => r.status === 'issued').length, 5)
    t.equal(results.filter((r) => r.status === 'locked' && r.reason === 'max-sends-per-identifier').length, 35)
  })

  t.test('without maxSendsPerIdentifier there is no ceiling (each device has its maxSends)', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const results = []
    for (const device of [undefined, 'device1', 'device2']) {
      for (let i = 0; i < issue.maxSends; i++) results.push(await store.issueCode(a, `c${i}`, issue, device))
    }
    t.equal(results.filter((r) => r.status === 'issued').length, 3 * issue.maxSends)
  })

  if (kind !== 'phone') return

  t.test('send budgets: limit per window, then exceeded until it ends', async (t) => {
    const { store, clock } = await makeStore()
    const budget = 'sms:91'
    for (let i = 0; i < 3; i++) t.same(await store.consumeBudget(budget, 3, 10_000), { status: 'ok' })
    const over = await store.consumeBudget(budget, 3, 10_000)
    t.equal(over.status, 'exceeded')
    t.ok(over.status === 'exceeded' && over.retryAfterMs > 5_000 && over.retryAfterMs <= 10_000)
    t.same(await store.consumeBudget(`${budget}x`, 3, 10_000), { status: 'ok' }, 'budgets are separate')
    await clock.advance(10_000)
    t.same(await store.consumeBudget(budget, 3, 10_000), { status: 'ok' }, 'a new window')
  })

  t.test('send budgets: a refused send is not counted, a send given back frees its place, never below 0', async (t) => {
    const { store, clock } = await makeStore()
    const budget = 'sms:44'
    const consume = async (): Promise<string> => (await store.consumeBudget(budget, 2, 10_000)).status
    t.same([await consume(), await consume()], ['ok', 'ok'])
    t.same([await consume(), await consume(), await consume()], ['exceeded', 'exceeded', 'exceeded'])
    await store.refundBudget(budget)
    t.equal(await consume(), 'ok', 'the place given back is free again: the three refused sends were not counted')
    t.equal(await consume(), 'exceeded')
    await clock.advance(6_000)
    await store.refundBudget(budget)
    t.equal(await consume(), 'ok')
    const over = await store.consumeBudget(budget, 2, 10_000)
    t.ok(over.status === 'exceeded' && over.retryAfterMs > 2_000 && over.retryAfterMs <= 4_000, 'a send given back leaves the window its end')
    for (let i = 0; i < 4; i++) await store.refundBudget(budget)
    await store.refundBudget('sms:never-counted')
    t.same([await consume(), await consume(), await consume()], ['ok', 'ok', 'exceeded'], 'more given back than counted: the count stopped at 0')
  })

  t.test('passkey challenges: taken once, not after ttlMs, only when saved; 20 parallel takes, one true', async (t) => {
    const { store, clock } = await makeStore()
    const hash = `pk-${++n}`
    t.equal(await store.takePasskeyChallenge(hash), false, 'never saved')
    await store.savePasskeyChallenge(hash, 10_000)
    t.equal(await store.takePasskeyChallenge(hash), true)
    t.equal(await store.takePasskeyChallenge(hash), false, 'single use')
    await store.savePasskeyChallenge(hash, 10_000)
    await clock.advance(11_000)
    t.equal(await store.takePasskeyChallenge(hash), false, 'expired')
    await store.savePasskeyChallenge(hash, 10_000)
    const taken = await Promise.all(Array.from({ length: 20 }, async () => await store.takePasskeyChallenge(hash)))
    t.equal(taken.filter(Boolean).length, 1)
  })

  sessionContract(t, makeStore)
  graceContract(t, makeStore)
  parkContract(t, makeStore)
  failureContract(t, makeStore)
}

/**
 * The failure count and lockout shared by /verify-totp and /verify-recovery (`reserveGuess`, `lockOut`,
 * `clearFailures`), on the same counters as `verifyCode`. Part of the OtpStore contract.
 */
/** Sessions, grouped by user: rotation, reuse, ending, listing and the per-user limit. Part of the OtpStore contract. */
export function sessionContract (t: Test, makeStore: () => Promise<Timed<OtpStore>>): void {
  let n = 0
  // 22 characters, like the plugin's user keys and session ids.
  const id = (kind: string): string => `${kind}${String(++n).padStart(22 - kind.length, '0')}`
  const policy = (clock: TestClock, extra: Partial<SessionPolicy> = {}): SessionPolicy => ({ ttlMs: 60_000, now: clock.now(), ...extra })
  const record = (tokenHash: string, claims = '{}') => ({ tokenHash, claims, amr: '["sms"]' })

  t.test('sessions: rotation hands back the claims and spends the old token', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const s1 = id('s')
    t.same(await store.createSession(user, s1, record('t1', '{"sub":"u1"}'), policy(clock)), { ended: [] })
    t.equal(await store.isSessionLive(user, s1), true)
    t.same(await store.rotateSession(user, s1, 't1', 't2', policy(clock)), { status: 'ok', claims: '{"sub":"u1"}' })
    t.same(await store.rotateSession(user, s1, 't2', 't3', policy(clock)), { status: 'ok', claims: '{"sub":"u1"}' })
    t.equal(await store.isSessionLive(user, s1), true)
    t.equal(await store.isSessionLive(id('u'), s1), false, 'a session belongs to its user')
  })

  t.test('sessions: a spent token ends the session', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const s1 = id('s')
    const s2 = id('s')
    await store.createSession(user, s1, record('t1'), policy(clock))
    await store.createSession(user, s2, record('x1'), policy(clock))
    await store.rotateSession(user, s1, 't1', 't2', policy(clock))
    t.same(await store.rotateSession(user, s1, 't1', 'x', policy(clock)), { status: 'reused' })
    t.equal(await store.isSessionLive(user, s1), false)
    t.same(await store.rotateSession(user, s1, 't2', 't3', policy(clock)), { status: 'invalid' }, 'the current token died with it')
    t.equal(await store.isSessionLive(user, s2), true, 'the user\'s other session lives on')
    t.same((await store.listSessions(user)).map((s) => s.id), [s2])
  })

  t.test('sessions: unknown sessions and tokens never issued are invalid, and end nothing', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const s1 = id('s')
    t.same(await store.rotateSession(user, s1, 't1', 't2', policy(clock)), { status: 'invalid' })
    await store.createSession(user, s1, record('t1'), policy(clock))
    t.same(await store.rotateSession(user, s1, 'forged', 't2', policy(clock)), { status: 'invalid' })
    t.same(await store.rotateSession(id('u'), s1, 't1', 't2', policy(clock)), { status: 'invalid' }, 'another user\'s key finds nothing')
    t.equal(await store.isSessionLive(user, s1), true)
    t.same(await store.rotateSession(user, s1, 't1', 't2', policy(clock)), { status: 'ok', claims: '{}' })
  })

  t.test('sessions: ending one, the others, or all', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const other = id('u')
    const [a, b, c, d] = [id('s'), id('s'), id('s'), id('s')]
    for (const s of [a, b, c]) await store.createSession(user, s, record(`t${s}`), policy(clock))
    await store.createSession(other, d, record('td'), policy(clock))
    t.same(await store.endSessions(user, 'one', a), { status: 'ok', ended: [a] })
    t.same(await store.endSessions(user, 'one', a), { status: 'ok', ended: [] }, 'already ended')
    t.same(await store.endSessions(user, 'others', a), { status: 'not-live' }, 'others needs a live own session')
    t.same(await store.endSessions(user, 'all', a), { status: 'not-live' })
    t.same(await store.endSessions(user, 'others', b), { status: 'ok', ended: [c] })
    t.equal(await store.isSessionLive(user, b), true)
    t.equal(await store.isSessionLive(user, c), false)
    t.same(await store.rotateSession(user, c, `t${c}`, 'n', policy(clock)), { status: 'invalid' }, 'its refresh token is dead too')
    await store.createSession(user, c, record('tc2'), policy(clock))
    const all = await store.endSessions(user, 'all')
    t.equal(all.status, 'ok')
    t.same(all.status === 'ok' && [...all.ended].sort(), [b, c].sort())
    t.same(await store.listSessions(user), [])
    t.equal(await store.isSessionLive(other, d), true, 'another user is untouched')
  })

  t.test('sessions: listing shows times and amr, and forgets expired sessions', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const [a, b] = [id('s'), id('s')]
    const now = clock.now()
    await store.createSession(user, a, record('ta'), policy(clock, { now: now - 5000, ttlMs: 10_000 }))
    await store.createSession(user, b, record('tb'), policy(clock, { now: now - 1000 }))
    await store.rotateSession(user, b, 'tb', 'tb2', policy(clock, { now }))
    const listed = await store.listSessions(user)
    t.equal(listed.length, 2)
    const sb = listed.find((s) => s.id === b)
    t.match(sb, { id: b, createdAt: now - 1000, lastUsedAt: now, amr: '["sms"]' })
    t.ok(sb !== undefined && sb.expiresAt > now + 55_000 && sb.expiresAt <= clock.now() + 60_000, 'expires ttl after its last use')
    await clock.advance(10_000)
    t.same((await store.listSessions(user)).map((s) => s.id), [b], 'the expired one is gone')
    t.equal(await store.isSessionLive(user, a), false)
  })

  t.test('sessions: maxSessions ends the least recently used', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const [a, b, c, d] = [id('s'), id('s'), id('s'), id('s')]
    const now = clock.now()
    await store.createSession(user, a, record('ta'), policy(clock, { now: now - 3000, maxSessions: 3 }))
    await store.createSession(user, b, record('tb'), policy(clock, { now: now - 2000, maxSessions: 3 }))
    await store.createSession(user, c, record('tc'), policy(clock, { now: now - 1000, maxSessions: 3 }))
    await store.rotateSession(user, a, 'ta', 'ta2', policy(clock, { now }))
    t.same(await store.createSession(user, d, record('td'), policy(clock, { now, maxSessions: 3 })), { ended: [b] }, 'b was used least recently')
    t.same((await store.listSessions(user)).map((s) => s.id).sort(), [a, c, d].sort())
    t.same(await store.rotateSession(user, b, 'tb', 'x', policy(clock)), { status: 'invalid' })
  })

  t.test('sessions: maxSessions orders by last use within one millisecond too', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    // Sorted, so that neither the order of the ids nor the order of creation could stand in for the order of use.
    const [a = '', b = '', c = ''] = [id('s'), id('s'), id('s')].sort()
    const now = clock.now()
    await store.createSession(user, a, record('ta'), policy(clock, { now, maxSessions: 2 }))
    await store.createSession(user, b, record('tb'), policy(clock, { now, maxSessions: 2 }))
    t.equal((await store.rotateSession(user, a, 'ta', 'ta2', policy(clock, { now }))).status, 'ok', 'a is used after b, in the same millisecond')
    t.same(await store.createSession(user, c, record('tc'), policy(clock, { now, maxSessions: 2 })), { ended: [b] }, 'b was used least recently')
    t.equal((await store.rotateSession(user, c, 'tc', 'tc2', policy(clock, { now }))).status, 'ok')
    t.equal((await store.rotateSession(user, a, 'ta2', 'ta3', policy(clock, { now }))).status, 'ok', 'then a again')
    const d = id('s')
    t.same(await store.createSession(user, d, record('td'), policy(clock, { now, maxSessions: 2 })), { ended: [c] }, 'c, used before a\'s last use')
  })

  t.test('sessions: a session expires after ttlMs unless rotated', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const idle = id('s')
    const busy = id('s')
    await store.createSession(user, idle, record('t1'), policy(clock, { ttlMs: 10_000 }))
    await store.createSession(user, busy, record('t1'), policy(clock, { ttlMs: 10_000 }))
    await clock.advance(5_000)
    t.equal((await store.rotateSession(user, busy, 't1', 't2', policy(clock, { ttlMs: 10_000 }))).status, 'ok')
    await clock.advance(5_000)
    t.same(await store.rotateSession(user, idle, 't1', 't2', policy(clock)), { status: 'invalid' }, 'idle session expired')
    t.equal(await store.isSessionLive(user, idle), false)
    t.equal((await store.rotateSession(user, busy, 't2', 't3', policy(clock))).status, 'ok', 'rotation restarted the TTL')
  })

  t.test(`sessions: reuse is detected for the last ${SPENT_KEPT} spent tokens; older ones are just invalid`, async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const s1 = id('s')
    await store.createSession(user, s1, record('t0'), policy(clock))
    for (let i = 0; i < SPENT_KEPT + 8; i++) t.equal((await store.rotateSession(user, s1, `t${i}`, `t${i + 1}`, policy(clock))).status, 'ok')
    t.same(await store.rotateSession(user, s1, 't0', 'x', policy(clock)), { status: 'invalid' }, 'forgotten: invalid, the session lives')
    t.same(await store.rotateSession(user, s1, 't7', 'x', policy(clock)), { status: 'invalid' })
    t.same(await store.rotateSession(user, s1, 't8', 'x', policy(clock)), { status: 'reused' }, 'the oldest one remembered')
  })

  t.test('sessions: 20 parallel rotations of one token, exactly one wins', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const s1 = id('s')
    await store.createSession(user, s1, record('t1'), policy(clock))
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.rotateSession(user, s1, 't1', `n${i}`, policy(clock))))
    t.equal(results.filter((r) => r.status === 'ok').length, 1)
    // The first loser presents a spent token and ends the session; the ones after it find no session.
    t.equal(results.filter((r) => r.status === 'reused').length, 1)
    t.equal(results.filter((r) => r.status === 'invalid').length, 18)
    t.equal(await store.isSessionLive(user, s1), false)
  })
}

export function failureContract (t: Test, makeStore: () => Promise<Timed<OtpStore>>): void {
  let n = 0
  const id = (): string => `+1555200${String(++n).padStart(4, '0')}`
  const policy = { maxFailures: 3, lockoutMs: 60_000 }
  const issue = { codeTtlMs: 60_000, maxSends: 3, windowMs: 60_000, resendIntervalMs: 0 }

  t.test('guesses: maxFailures of them are reserved, the last one marked; then refused unchecked', async (t) => {
    const { store } = await makeStore()
    const a = id()
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: false })
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: false })
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: true })
    t.same(await store.reserveGuess(a, policy), { status: 'busy' }, 'no fourth guess while three are in flight: busy, not locked')
    t.same(await store.reserveGuess(id(), policy), { status: 'reserved', last: false }, 'other identifiers are not affected')
  })

  t.test('guesses: the wrong last one locks out, for lockoutMs, as verifyCode does', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.issueCode(a, 'right', issue)
    for (let i = 0; i < policy.maxFailures; i++) await store.reserveGuess(a, policy)
    await store.lockOut(a, policy.lockoutMs)
    const locked = await store.reserveGuess(a, policy)
    t.ok(locked.status === 'locked' && locked.retryAfterMs > 59_000 && locked.retryAfterMs <= 60_000, 'locked for the lockout')
    t.equal((await store.verifyCode(a, 'right', { ...policy, maxAttempts: 10 })).status, 'locked', 'the right code is refused too')
    t.equal((await store.issueCode(a, 'next', issue)).status, 'locked', 'and no new code')
  })

  t.test('guesses share the count with verifyCode', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const verifyPolicy = { ...policy, maxAttempts: 10 }
    await store.issueCode(a, 'right', issue)
    await store.verifyCode(a, 'wrong', verifyPolicy)
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: false })
    t.equal((await store.verifyCode(a, 'wrong', verifyPolicy)).status, 'locked', 'one wrong code, one guess, one wrong code: three')
  })

  t.test('guesses: a success clears the count; a lockout ends', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const short = { maxFailures: 2, lockoutMs: 10_000 }
    await store.reserveGuess(a, short)
    await store.clearFailures(a)
    t.same(await store.reserveGuess(a, short), { status: 'reserved', last: false }, 'cleared: counting from one again')
    t.same(await store.reserveGuess(a, short), { status: 'reserved', last: true })
    await store.lockOut(a, short.lockoutMs)
    await clock.advance(5_000)
    t.equal((await store.reserveGuess(a, short)).status, 'locked', 'halfway through, still locked out')
    await clock.advance(5_000)
    t.same(await store.reserveGuess(a, short), { status: 'reserved', last: false }, 'the lockout ended, the count started again')
  })

  t.test('guesses: 20 in parallel, exactly maxFailures reserved, exactly one of them last', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const results = await Promise.all(Array.from({ length: 20 }, () => store.reserveGuess(a, policy)))
    const reserved = results.filter((r) => r.status === 'reserved')
    t.equal(reserved.length, policy.maxFailures)
    t.equal(reserved.filter((r) => r.status === 'reserved' && r.last).length, 1)
    t.equal(results.filter((r) => r.status === 'busy').length, 20 - policy.maxFailures, 'the others busy, none locked')
  })

  t.test('guesses: a refund gives a reserved guess back; refused guesses are not counted', async (t) => {
    const { store } = await makeStore()
    const a = id()
    for (let i = 0; i < policy.maxFailures; i++) await store.reserveGuess(a, policy)
    t.same(await store.reserveGuess(a, policy), { status: 'busy' }, 'all in flight')
    await store.refundGuess(a)
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: true }, 'one place again, and it is the last')
  })

  t.test('failures slide: the count lives lockoutMs from the last failure, not the first', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const sliding = { maxAttempts: 100, maxFailures: 3, lockoutMs: 10_000 }
    await store.issueCode(a, 'right', issue)
    await store.verifyCode(a, 'w1', sliding)
    await clock.advance(6_000)
    await store.verifyCode(a, 'w2', sliding)
    await clock.advance(6_000) // 12 s after the first failure: a fixed window would have ended
    const third = await store.verifyCode(a, 'w3', sliding)
    t.equal(third.status, 'locked', 'the third failure within 10 s of the one before locks')
    const b = id()
    await store.issueCode(b, 'right', issue)
    await store.verifyCode(b, 'w1', sliding)
    await store.verifyCode(b, 'w2', sliding)
    await clock.advance(10_000)
    t.same(await store.verifyCode(b, 'w3', sliding), { status: 'invalid' }, 'a pause of lockoutMs ends the count')
  })

  t.test('trusted devices: their own code and counters, locked out alone', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const verify = { maxAttempts: 10, maxFailures: 2, lockoutMs: 60_000 }
    await store.issueCode(a, 'c1', issue)
    await store.verifyCode(a, 'w', verify)
    t.equal((await store.verifyCode(a, 'w', verify)).status, 'locked', 'the identifier is locked out')
    t.equal((await store.issueCode(a, 'c2', issue)).status, 'locked')
    t.same(await store.issueCode(a, 'dev', issue, 'device1'), { status: 'issued' }, 'a trusted device still gets a code')
    t.match(await store.verifyCode(a, 'dev', verify), { status: 'locked', lockedNow: false }, 'not usable without the device')
    t.same(await store.verifyCode(a, 'dev', verify, 'device2'), { status: 'invalid' }, 'nor from another device')
    t.same(await store.verifyCode(a, 'dev', verify, 'device1'), { status: 'ok' }, 'the device signs in')
    t.equal((await store.issueCode(a, 'c3', issue)).status, 'locked', "the device's success does not lift the identifier's lockout")
    await store.issueCode(a, 'd2', issue, 'device1')
    await store.verifyCode(a, 'w', verify, 'device1')
    t.equal((await store.verifyCode(a, 'w', verify, 'device1')).status, 'locked', 'a device that uses up its failures is locked out')
    t.same(await store.issueCode(a, 'd3', issue, 'device2'), { status: 'issued' }, 'alone')
    t.same(await store.reserveGuess(a, policy, 'device2'), { status: 'reserved', last: false }, 'guesses count per device too')
  })

  t.test('challenges: reserved with the failure count, burned after maxAttempts, spent once', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const verify = { maxAttempts: 2, maxFailures: 5, lockoutMs: 60_000 }
    await store.createChallenge(a, 'ch1', '{"x":1}', 60_000)
    t.same(await store.reserveChallenge(id(), 'ch1', verify), { status: 'invalid' }, 'bound to its identifier')
    t.same(await store.reserveChallenge(a, 'other', verify), { status: 'invalid' })
    t.same(await store.reserveChallenge(a, 'ch1', verify), { status: 'reserved', data: '{"x":1}', attempts: 1, last: false })
    await store.refundChallenge(a, 'ch1')
    t.same(await store.reserveChallenge(a, 'ch1', verify), { status: 'reserved', data: '{"x":1}', attempts: 1, last: false }, 'refunded')
    t.same(await store.reserveChallenge(a, 'ch1', verify), { status: 'reserved', data: '{"x":1}', attempts: 2, last: false })
    t.same(await store.reserveChallenge(a, 'ch1', verify), { status: 'burned' })
    t.same(await store.reserveGuess(a, { maxFailures: 3, lockoutMs: 60_000 }), { status: 'reserved', last: true }, 'the two kept guesses counted as failures')
    await store.createChallenge(a, 'ch2', 'd', 60_000)
    t.equal(await store.consumeChallenge(a, 'ch2'), true)
    t.equal(await store.consumeChallenge(a, 'ch2'), false, 'spent once')
    t.same(await store.reserveChallenge(a, 'ch2', verify), { status: 'invalid' })
    t.same(await store.reserveGuess(a, { maxFailures: 3, lockoutMs: 60_000 }), { status: 'reserved', last: false }, 'spending cleared the failures')
  })

  t.test('challenges: the last failure reserved; a lockout refuses them; they expire', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    const verify = { maxAttempts: 10, maxFailures: 2, lockoutMs: 60_000 }
    await store.createChallenge(a, 'ch', 'd', 10_000)
    t.match(await store.reserveChallenge(a, 'ch', verify), { status: 'reserved', last: false })
    t.match(await store.reserveChallenge(a, 'ch', verify), { status: 'reserved', last: true })
    await store.lockOut(a, verify.lockoutMs)
    t.match(await store.reserveChallenge(a, 'ch', verify), { status: 'locked' })
    t.match(await store.reserveChallenge(a, 'ch', verify, 'device1'), { status: 'reserved', last: false }, 'a trusted device counts on its own')
    await clock.advance(10_000)
    t.same(await store.reserveChallenge(a, 'ch', verify, 'device1'), { status: 'invalid' }, 'expired')
  })

  t.test('challenges: while guesses in flight hold every failure, the next is busy (not locked, not counted)', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const verify = { maxAttempts: 10, maxFailures: 2, lockoutMs: 60_000 }
    await store.createChallenge(a, 'ch', 'd', 60_000)
    t.match(await store.reserveChallenge(a, 'ch', verify), { status: 'reserved', attempts: 1, last: false })
    t.match(await store.reserveChallenge(a, 'ch', verify), { status: 'reserved', attempts: 2, last: true })
    t.same(await store.reserveChallenge(a, 'ch', verify), { status: 'busy' })
    await store.refundChallenge(a, 'ch')
    t.match(await store.reserveChallenge(a, 'ch', verify), { status: 'reserved', attempts: 2, last: true }, 'the busy guess took no attempt')
    await store.createChallenge(a, 'ch2', 'd', 60_000)
    await store.clearFailures(a)
    const results = await Promise.all(Array.from({ length: 20 }, () => store.reserveChallenge(a, 'ch2', { ...verify, maxFailures: 3 })))
    t.equal(results.filter((r) => r.status === 'reserved').length, 3)
    t.equal(results.filter((r) => r.status === 'busy').length, 17, 'the others busy, none locked')
  })

  t.test('challenges: 20 parallel guesses, at most maxAttempts reserved; one parallel consume wins', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const verify = { maxAttempts: 3, maxFailures: 100, lockoutMs: 60_000 }
    await store.createChallenge(a, 'ch', 'd', 60_000)
    const results = await Promise.all(Array.from({ length: 20 }, () => store.reserveChallenge(a, 'ch', verify)))
    t.equal(results.filter((r) => r.status === 'reserved').length, 3)
    await store.createChallenge(a, 'ch2', 'd', 60_000)
    const spent = await Promise.all(Array.from({ length: 20 }, () => store.consumeChallenge(a, 'ch2')))
    t.equal(spent.filter(Boolean).length, 1)
  })
}
