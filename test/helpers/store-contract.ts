import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { IssuePolicy, OtpStore, SessionPolicy, VerifyPolicy } from '../../lib/index.js'
import { SPENT_KEPT } from '../../lib/store/types.js'

const issue: IssuePolicy = { codeTtlMs: 60_000, maxSends: 3, windowMs: 60_000, resendIntervalMs: 0 }
const verify: VerifyPolicy = { maxAttempts: 3, maxFailures: 5, lockoutMs: 60_000 }
const session: SessionPolicy = { ttlMs: 60_000, revokedForMs: 60_000 }

/**
 * The behaviour every OtpStore must have, run against each implementation. `makeStore` gives a store with no
 * state; the suite works on real time with short TTLs where expiry matters.
 */
export function storeContract (t: Test, makeStore: () => Promise<OtpStore>, kind: 'phone' | 'email' = 'phone'): void {
  let n = 0
  // A fresh identifier per test, so tests never see each other's state.
  const id = (): string => kind === 'phone' ? `+1555000${String(++n).padStart(4, '0')}` : `user${++n}@example.com`

  t.test('a right code verifies once, then is gone', async (t) => {
    const store = await makeStore()
    const a = id()
    t.same(await store.issueCode(a, 'h1', issue), { status: 'issued' })
    t.same(await store.verifyCode(a, 'h1', verify), { status: 'ok' })
    t.same(await store.verifyCode(a, 'h1', verify), { status: 'invalid' }, 'replay refused')
  })

  t.test('no code: invalid, and no failure is counted', async (t) => {
    const store = await makeStore()
    const a = id()
    for (let i = 0; i < verify.maxFailures + 2; i++) {
      t.same(await store.verifyCode(a, 'never', verify), { status: 'invalid' })
    }
    t.same(await store.issueCode(a, 'h1', issue), { status: 'issued' }, 'not locked out')
  })

  t.test('a code is bound to its identifier', async (t) => {
    const store = await makeStore()
    const a = id()
    const b = id()
    await store.issueCode(a, 'ha', issue)
    t.same(await store.verifyCode(b, 'ha', verify), { status: 'invalid' })
    t.same(await store.verifyCode(a, 'ha', verify), { status: 'ok' })
  })

  t.test('maxAttempts wrong guesses burn the code, even for the right one after', async (t) => {
    const store = await makeStore()
    const a = id()
    await store.issueCode(a, 'right', issue)
    t.same(await store.verifyCode(a, 'w1', verify), { status: 'invalid' })
    t.same(await store.verifyCode(a, 'w2', verify), { status: 'invalid' })
    t.same(await store.verifyCode(a, 'w3', verify), { status: 'burned' }, 'the burning guess says so')
    t.same(await store.verifyCode(a, 'right', verify), { status: 'burned' })
    t.same(await store.verifyCode(a, 'w4', verify), { status: 'burned' })
  })

  t.test('a new code replaces the old one and starts its own attempt count', async (t) => {
    const store = await makeStore()
    const a = id()
    await store.issueCode(a, 'old', issue)
    await store.verifyCode(a, 'w1', verify)
    await store.verifyCode(a, 'w2', verify)
    await store.issueCode(a, 'new', issue)
    t.same(await store.verifyCode(a, 'old', verify), { status: 'invalid' }, 'the old code no longer works')
    t.same(await store.verifyCode(a, 'new', verify), { status: 'ok' }, 'one wrong guess on the new code is not a burn')
  })

  t.test('failures add up across codes and lock the identifier out', async (t) => {
    const store = await makeStore()
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
    const store = await makeStore()
    const a = id()
    const short = { ...verify, maxFailures: 2, lockoutMs: 400 }
    await store.issueCode(a, 'c1', issue)
    await store.verifyCode(a, 'w', short)
    t.equal((await store.verifyCode(a, 'w', short)).status, 'locked')
    await sleep(450)
    t.same(await store.issueCode(a, 'c2', issue), { status: 'issued' })
    t.same(await store.verifyCode(a, 'w', short), { status: 'invalid' }, 'one failure is not a lockout')
    t.same(await store.verifyCode(a, 'c2', short), { status: 'ok' })
  })

  t.test('maxSends codes per window, then locked until the window ends', async (t) => {
    const store = await makeStore()
    const a = id()
    for (let i = 0; i < issue.maxSends; i++) t.same(await store.issueCode(a, `c${i}`, issue), { status: 'issued' })
    const refused = await store.issueCode(a, 'c9', issue)
    t.equal(refused.status, 'locked')
    t.ok(refused.status === 'locked' && refused.retryAfterMs > 0 && refused.retryAfterMs <= issue.windowMs)
    t.same(await store.verifyCode(a, `c${issue.maxSends - 1}`, verify), { status: 'ok' }, 'the last code still works')
  })

  t.test('the send window ends', async (t) => {
    const store = await makeStore()
    const a = id()
    const short = { ...issue, maxSends: 1, windowMs: 400 }
    await store.issueCode(a, 'c1', short)
    t.equal((await store.issueCode(a, 'c2', short)).status, 'locked')
    await sleep(450)
    t.same(await store.issueCode(a, 'c3', short), { status: 'issued' })
  })

  t.test('resend interval', async (t) => {
    const store = await makeStore()
    const a = id()
    const paced = { ...issue, resendIntervalMs: 400 }
    await store.issueCode(a, 'c1', paced)
    const early = await store.issueCode(a, 'c2', paced)
    t.equal(early.status, 'too_soon')
    t.ok(early.status === 'too_soon' && early.retryAfterMs > 0 && early.retryAfterMs <= 400)
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'ok' }, 'a refused resend leaves the code alone')
    await store.issueCode(a, 'c3', { ...paced, resendIntervalMs: 0 })
    await sleep(450)
    t.same(await store.issueCode(a, 'c4', paced), { status: 'issued' })
  })

  t.test('a code expires after codeTtlMs', async (t) => {
    const store = await makeStore()
    const a = id()
    await store.issueCode(a, 'c1', { ...issue, codeTtlMs: 100 })
    await sleep(150)
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'invalid' })
  })

  t.test('success resets the send and failure counters', async (t) => {
    const store = await makeStore()
    const a = id()
    for (let i = 0; i < issue.maxSends; i++) await store.issueCode(a, `c${i}`, issue)
    const patient = { ...verify, maxAttempts: 10 }
    for (let i = 0; i < verify.maxFailures - 1; i++) await store.verifyCode(a, 'w', patient)
    t.same(await store.verifyCode(a, `c${issue.maxSends - 1}`, patient), { status: 'ok' })
    t.same(await store.issueCode(a, 'next', issue), { status: 'issued' }, 'sends reset')
    t.same(await store.verifyCode(a, 'w', verify), { status: 'invalid' }, 'failures reset: one more is no lockout')
    t.same(await store.verifyCode(a, 'next', verify), { status: 'ok' })
  })

  t.test('revoke drops the code and gives the send back', async (t) => {
    const store = await makeStore()
    const a = id()
    const once = { ...issue, maxSends: 1, resendIntervalMs: 60_000 }
    await store.issueCode(a, 'c1', once)
    await store.revokeCode(a, 'c1', true)
    t.same(await store.verifyCode(a, 'c1', verify), { status: 'invalid' })
    t.same(await store.issueCode(a, 'c2', once), { status: 'issued' }, 'neither maxSends nor the resend interval count it')
  })

  t.test('revoke without giving the send back: the code goes, the send still counts', async (t) => {
    const store = await makeStore()
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
    const store = await makeStore()
    const a = id()
    await store.issueCode(a, 'c1', issue)
    await store.issueCode(a, 'c2', issue)
    await store.revokeCode(a, 'c1', true)
    t.same(await store.verifyCode(a, 'c2', verify), { status: 'ok' })
  })

  t.test('50 parallel verifies of the right code: exactly one ok', async (t) => {
    const store = await makeStore()
    const a = id()
    await store.issueCode(a, 'right', issue)
    const results = await Promise.all(Array.from({ length: 50 }, () => store.verifyCode(a, 'right', verify)))
    t.equal(results.filter((r) => r.status === 'ok').length, 1)
    t.equal(results.filter((r) => r.status === 'invalid').length, 49)
  })

  t.test('50 parallel wrong guesses: no more than maxAttempts are checked', async (t) => {
    const store = await makeStore()
    const a = id()
    const policy = { ...verify, maxFailures: 1000 }
    await store.issueCode(a, 'right', issue)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.verifyCode(a, `wrong${i}`, policy)))
    t.equal(results.filter((r) => r.status === 'invalid').length, policy.maxAttempts - 1)
    t.equal(results.filter((r) => r.status === 'burned').length, 50 - (policy.maxAttempts - 1))
    t.same(await store.verifyCode(a, 'right', policy), { status: 'burned' })
  })

  t.test('parallel logins never exceed maxSends', async (t) => {
    const store = await makeStore()
    const a = id()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.issueCode(a, `c${i}`, issue)))
    t.equal(results.filter((r) => r.status === 'issued').length, issue.maxSends)
  })

  if (kind !== 'phone') return

  t.test('send budgets: limit per window, then exceeded until it ends', async (t) => {
    const store = await makeStore()
    const budget = 'sms:91'
    for (let i = 0; i < 3; i++) t.same(await store.consumeBudget(budget, 3, 400), { status: 'ok' })
    const over = await store.consumeBudget(budget, 3, 400)
    t.equal(over.status, 'exceeded')
    t.ok(over.status === 'exceeded' && over.retryAfterMs > 0 && over.retryAfterMs <= 400)
    t.same(await store.consumeBudget(`${budget}x`, 3, 400), { status: 'ok' }, 'budgets are separate')
    await sleep(450)
    t.same(await store.consumeBudget(budget, 3, 400), { status: 'ok' }, 'a new window')
  })

  let f = 0
  const family = (): string => `family${String(++f).padStart(16, '0')}`

  t.test('sessions: rotation hands back the claims and spends the old token', async (t) => {
    const store = await makeStore()
    const fam = family()
    await store.createSession(fam, 't1', '{"sub":"u1"}', session.ttlMs)
    t.same(await store.rotateSession(fam, 't1', 't2', session), { status: 'ok', claims: '{"sub":"u1"}' })
    t.same(await store.rotateSession(fam, 't2', 't3', session), { status: 'ok', claims: '{"sub":"u1"}' })
    t.equal(await store.isSessionRevoked(fam), false)
  })

  t.test('sessions: a spent token ends the family and revokes its access tokens', async (t) => {
    const store = await makeStore()
    const fam = family()
    await store.createSession(fam, 't1', '{}', session.ttlMs)
    await store.rotateSession(fam, 't1', 't2', session)
    t.same(await store.rotateSession(fam, 't1', 'x', session), { status: 'reused' })
    t.equal(await store.isSessionRevoked(fam), true)
    t.same(await store.rotateSession(fam, 't2', 't3', session), { status: 'invalid' }, 'the current token died with it')
  })

  t.test('sessions: unknown families and tokens never issued are invalid, and end nothing', async (t) => {
    const store = await makeStore()
    const fam = family()
    t.same(await store.rotateSession(family(), 't1', 't2', session), { status: 'invalid' })
    await store.createSession(fam, 't1', '{}', session.ttlMs)
    t.same(await store.rotateSession(fam, 'forged', 't2', session), { status: 'invalid' })
    t.equal(await store.isSessionRevoked(fam), false)
    t.same(await store.rotateSession(fam, 't1', 't2', session), { status: 'ok', claims: '{}' })
  })

  t.test('sessions: endSession ends the family; the revocation expires', async (t) => {
    const store = await makeStore()
    const fam = family()
    await store.createSession(fam, 't1', '{}', session.ttlMs)
    t.equal(await store.endSession(fam, 400), true)
    t.equal(await store.isSessionRevoked(fam), true)
    t.equal(await store.endSession(fam, 400), false, 'ending it again says it was already ended')
    t.same(await store.rotateSession(fam, 't1', 't2', session), { status: 'invalid' })
    await sleep(450)
    t.equal(await store.isSessionRevoked(fam), false, 'kept only as long as an access token can live')
  })

  t.test('sessions: a family expires after ttlMs unless rotated', async (t) => {
    const store = await makeStore()
    // 400 ms of slack each way: the machine running the tests may be busy.
    const short = { ...session, ttlMs: 1000 }
    const idle = family()
    const busy = family()
    await store.createSession(idle, 't1', '{}', short.ttlMs)
    await store.createSession(busy, 't1', '{}', short.ttlMs)
    await sleep(600)
    t.equal((await store.rotateSession(busy, 't1', 't2', short)).status, 'ok')
    await sleep(600)
    t.same(await store.rotateSession(idle, 't1', 't2', short), { status: 'invalid' }, 'idle family expired')
    t.equal((await store.rotateSession(busy, 't2', 't3', short)).status, 'ok', 'rotation restarted the TTL')
  })

  t.test(`sessions: reuse is detected for the last ${SPENT_KEPT} spent tokens; older ones are just invalid`, async (t) => {
    const store = await makeStore()
    const fam = family()
    await store.createSession(fam, 't0', '{}', session.ttlMs)
    for (let i = 0; i < SPENT_KEPT + 8; i++) t.equal((await store.rotateSession(fam, `t${i}`, `t${i + 1}`, session)).status, 'ok')
    t.same(await store.rotateSession(fam, 't0', 'x', session), { status: 'invalid' }, 'forgotten: invalid, the family lives')
    t.same(await store.rotateSession(fam, 't7', 'x', session), { status: 'invalid' })
    t.same(await store.rotateSession(fam, 't8', 'x', session), { status: 'reused' }, 'the oldest one remembered')
  })

  t.test('sessions: 20 parallel rotations of one token, exactly one wins', async (t) => {
    const store = await makeStore()
    const fam = family()
    await store.createSession(fam, 't1', '{}', session.ttlMs)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.rotateSession(fam, 't1', `n${i}`, session)))
    t.equal(results.filter((r) => r.status === 'ok').length, 1)
    // The first loser presents a spent token and ends the family; the ones after it find no family.
    t.equal(results.filter((r) => r.status === 'reused').length, 1)
    t.equal(results.filter((r) => r.status === 'invalid').length, 18)
    t.equal(await store.isSessionRevoked(fam), true)
  })

  failureContract(t, makeStore)
}

/**
 * The failure count and lockout shared by /verify-totp and /verify-recovery (`reserveGuess`, `lockOut`,
 * `clearFailures`), on the same counters as `verifyCode`. Part of the OtpStore contract.
 */
export function failureContract (t: Test, makeStore: () => Promise<OtpStore>): void {
  let n = 0
  const id = (): string => `+1555200${String(++n).padStart(4, '0')}`
  const policy = { maxFailures: 3, lockoutMs: 60_000 }
  const issue = { codeTtlMs: 60_000, maxSends: 3, windowMs: 60_000, resendIntervalMs: 0 }

  t.test('guesses: maxFailures of them are reserved, the last one marked; then refused unchecked', async (t) => {
    const store = await makeStore()
    const a = id()
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: false })
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: false })
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: true })
    const refused = await store.reserveGuess(a, policy)
    t.ok(refused.status === 'locked' && refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000, 'no fourth guess')
    t.same(await store.reserveGuess(id(), policy), { status: 'reserved', last: false }, 'other identifiers are not affected')
  })

  t.test('guesses: the wrong last one locks out, for lockoutMs, as verifyCode does', async (t) => {
    const store = await makeStore()
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
    const store = await makeStore()
    const a = id()
    const verifyPolicy = { ...policy, maxAttempts: 10 }
    await store.issueCode(a, 'right', issue)
    await store.verifyCode(a, 'wrong', verifyPolicy)
    t.same(await store.reserveGuess(a, policy), { status: 'reserved', last: false })
    t.equal((await store.verifyCode(a, 'wrong', verifyPolicy)).status, 'locked', 'one wrong code, one guess, one wrong code: three')
  })

  t.test('guesses: a success clears the count; a lockout ends', async (t) => {
    const store = await makeStore()
    const a = id()
    const short = { maxFailures: 2, lockoutMs: 500 }
    await store.reserveGuess(a, short)
    await store.clearFailures(a)
    t.same(await store.reserveGuess(a, short), { status: 'reserved', last: false }, 'cleared: counting from one again')
    t.same(await store.reserveGuess(a, short), { status: 'reserved', last: true })
    await store.lockOut(a, short.lockoutMs)
    await sleep(600)
    t.same(await store.reserveGuess(a, short), { status: 'reserved', last: false }, 'the lockout ended, the count started again')
  })

  t.test('guesses: 20 in parallel, exactly maxFailures reserved, exactly one of them last', async (t) => {
    const store = await makeStore()
    const a = id()
    const results = await Promise.all(Array.from({ length: 20 }, () => store.reserveGuess(a, policy)))
    const reserved = results.filter((r) => r.status === 'reserved')
    t.equal(reserved.length, policy.maxFailures)
    t.equal(reserved.filter((r) => r.status === 'reserved' && r.last).length, 1)
    t.equal(results.filter((r) => r.status === 'locked').length, 20 - policy.maxFailures)
  })
}
