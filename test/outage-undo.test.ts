import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { MemoryStore, RedisStore, type OtpEvent, type OtpLoginOptions, type OtpStore } from '../lib/index.js'
import { otpStoreWithDeadline } from '../lib/store/deadline.js'
import { otpStoreMethods } from '../lib/store/types.js'
import { buildApp, CODE_SECRET, freshRedis, sharedRedis } from './helpers/app.js'
import { holdable, lateCallsUndone, type Holdable } from './helpers/holdable.js'

// Nothing changes behind a 503: a store call that answers after storeTimeout is undone.
const storeTimeout = 300
const phone = '+919876543210'

type Kind = 'memory' | 'redis'

/**
 * An app on a store that the test can freeze: a MemoryStore behind `holdable`, or the file's redis-server
 * (SIGSTOP). `logs` collects the log lines, where the plugin says what it undid.
 */
async function frozenApp (t: Test, kind: Kind, options: Partial<OtpLoginOptions> = {}) {
  const logs: string[] = []
  let freeze: () => void
  let thaw: () => void
  let storeOptions: Partial<OtpLoginOptions>
  if (kind === 'memory') {
    const memory = new MemoryStore()
    t.teardown(() => memory.close())
    const held = holdable<OtpStore>(memory, otpStoreMethods)
    freeze = () => { held.hold() }
    thaw = () => { held.release() }
    storeOptions = { store: held.store, codeSecret: CODE_SECRET }
  } else {
    const server = await sharedRedis()
    freeze = () => { server.pause() }
    thaw = () => { server.resume() }
    storeOptions = { redis: await freshRedis(), codeSecret: CODE_SECRET }
  }
  const built = await buildApp(t, 'memory', { storeTimeout, findOrCreateUser: () => ({ id: 'u1' }), ...storeOptions, ...options }, logs)
  /** Runs `during` with the store frozen; thaws it in any case. */
  const frozen = async <T>(during: () => Promise<T>): Promise<T> => {
    freeze()
    try {
      return await during()
    } finally {
      thaw()
    }
  }
  /** Waits (for real I/O: the late answers, then their undos) until `count` late calls were undone. */
  const undone = async (count: number): Promise<void> => {
    const seen = (): number => logs.filter((line) => line.includes('answered after storeTimeout')).length
    for (let i = 0; i < 1000 && seen() < count; i++) await sleep(10)
    t.equal(seen(), count, `${count} late call(s) undone`)
    t.notMatch(logs.join(''), /could not be undone/)
  }
  const refresh = async (token: string) => await built.app.inject({ method: 'POST', url: '/refresh', payload: { refresh: token } })
  return { ...built, logs, frozen, undone, refresh, freeze: () => { freeze() }, thaw: () => { thaw() } }
}

t.teardown(async () => { (await sharedRedis()).resume() })

for (const kind of ['memory', 'redis'] as const) {
  t.test(`${kind}: a frozen store, three 503 logins, then a code is sent at once`, async (t) => {
    const { login, verify, codeFor, sent, frozen, undone } = await frozenApp(t, kind)
    await frozen(async () => {
      for (let i = 0; i < 3; i++) t.equal((await login(phone)).statusCode, 503, `login ${i + 1}: 503`)
    })
    await undone(1) // the first issued a code when the store woke; the resend wait refused the other two
    t.equal(sent.length, 0, 'nothing was sent')
    const res = await login(phone)
    t.equal(res.statusCode, 200, 'no resend wait, no lockout')
    t.equal(sent.length, 1, 'a code is sent at once')
    t.equal((await verify(phone, codeFor(phone))).statusCode, 200, 'and signs in')
  })

  t.test(`${kind}: without a resend wait, three 503 logins use up none of maxSends`, async (t) => {
    const { login, sent, frozen, undone } = await frozenApp(t, kind, { resendInterval: 0, maxSends: 3 })
    await frozen(async () => {
      for (let i = 0; i < 3; i++) t.equal((await login(phone)).statusCode, 503, `login ${i + 1}: 503`)
    })
    await undone(3)
    for (let i = 0; i < 3; i++) t.equal((await login(phone)).statusCode, 200, `then login ${i + 1}: 200`)
    t.equal(sent.length, 3)
    t.equal((await login(phone)).json().code, 'OTP_LOCKED', 'maxSends counts the codes sent, no more, no fewer')
  })

  for (const refreshGrace of [0, 10]) {
    t.test(`${kind}: a 503 refresh, then the retry with the same token works (refreshGrace ${refreshGrace})`, async (t) => {
      const { login, verify, codeFor, refresh, frozen, undone, app } = await frozenApp(t, kind, { refreshGrace })
      await login(phone)
      const first = (await verify(phone, codeFor(phone))).json()
      const timedOut = await frozen(async () => await refresh(first.refresh))
      t.equal(timedOut.statusCode, 503)
      await undone(1)
      const retry = await refresh(first.refresh)
      t.equal(retry.statusCode, 200, 'the token the client holds was not spent')
      const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${retry.json().access as string}` } })
      t.equal(me.statusCode, 200)
      if (refreshGrace > 0) t.equal((await refresh(first.refresh)).statusCode, 200, 'and its grace is still whole')
      t.equal((await refresh(first.refresh)).json().code, 'OTP_REFRESH_REUSED', 'then it is spent, as ever')
    })
  }

  t.test(`${kind}: two 503 refreshes in one freeze (a client that retried), then the retry works`, async (t) => {
    const { login, verify, codeFor, refresh, frozen, undone } = await frozenApp(t, kind)
    await login(phone)
    const first = (await verify(phone, codeFor(phone))).json()
    const timedOut = await frozen(async () => [await refresh(first.refresh), await refresh(first.refresh)])
    t.same(timedOut.map((res) => res.statusCode), [503, 503])
    await undone(2) // the rotation and the grace retry, both run when the store woke
    const retry = await refresh(first.refresh)
    t.equal(retry.statusCode, 200, 'the token the client holds still works')
    t.equal((await refresh(retry.json().refresh)).statusCode, 200, 'and the session goes on')
  })

  for (const first of ['tab B', 'tab A'] as const) {
    t.test(`${kind}: two tabs, a 503 refresh of one, then ${first} refreshes first: the session is as before the 503`, async (t) => {
      const { login, verify, codeFor, refresh, frozen, undone, app } = await frozenApp(t, kind)
      await login(phone)
      const signedIn: string = (await verify(phone, codeFor(phone))).json().refresh
      const tabA: string = (await refresh(signedIn)).json().refresh
      const tabB: string = (await refresh(signedIn)).json().refresh // the grace retry: tabA and tabB are both current
      t.equal((await frozen(async () => await refresh(tabA))).statusCode, 503, 'tab A, while the store is frozen')
      await undone(1)
      const [goesOn, twin] = first === 'tab B' ? [tabB, tabA] : [tabA, tabB]
      const next = await refresh(goesOn)
      t.equal(next.statusCode, 200, `${first}'s token is still current`)
      const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${next.json().access as string}` } })
      t.equal(me.statusCode, 200)
      t.equal((await refresh(next.json().refresh)).statusCode, 200, 'and the session goes on')
      // As without the 503: of two current tokens, the first one rotated goes on and the other is spent with it.
      t.equal((await refresh(twin)).json().code, 'OTP_REFRESH_REUSED', 'the other tab\'s token was spent by that rotation, as ever')
    })
  }

  t.test(`${kind}: a sign-in answered 503 beyond maxSessions ends no session (the one it ended comes back)`, async (t) => {
    const events: OtpEvent[] = []
    let freezeNext = false
    const built = await frozenApp(t, kind, {
      maxSessions: 2,
      resendInterval: 0,
      onEvent: (event) => { events.push(event) },
      // The store freezes once the code was checked, before the session starts: createSession answers late.
      findOrCreateUser: () => {
        if (freezeNext) {
          freezeNext = false
          built.freeze()
        }
        return { id: 'u1' }
      }
    })
    const { app, login, verify, codeFor, refresh, undone } = built
    type Tokens = { access: string, refresh: string }
    const signIn = async () => { await login(phone); return await verify(phone, codeFor(phone)) }
    const s1 = (await signIn()).json<Tokens>()
    const s2 = (await signIn()).json<Tokens>()
    freezeNext = true
    let third
    try {
      third = await signIn()
    } finally {
      built.thaw()
    }
    t.equal(third.statusCode, 503)
    t.equal(third.json<Partial<Tokens>>().refresh, undefined, 'S3 was never handed out')
    await undone(1)
    const me = async (tokens: Tokens) => await app.inject({ url: '/me', headers: { authorization: `Bearer ${tokens.access}` } })
    t.equal((await me(s1)).statusCode, 200, 'S1\'s access token still works')
    t.equal((await me(s2)).statusCode, 200, 'S2\'s too')
    const r1 = await refresh(s1.refresh)
    t.equal(r1.statusCode, 200, 'S1, the least recently used, was not ended')
    const r2 = await refresh(s2.refresh)
    t.equal(r2.statusCode, 200, 'S2 goes on')
    const sid = (tokens: Tokens): string => tokens.refresh.split('.')[1] ?? ''
    const list = await app.inject({ url: '/sessions', headers: { authorization: `Bearer ${r2.json<Tokens>().access}` } })
    t.same(list.json<{ sessions: Array<{ id: string }> }>().sessions.map((s) => s.id).sort(), [sid(s1), sid(s2)].sort(), 'S1 and S2, no S3')
    t.same(events.filter((e) => e.type === 'session-ended'), [], 'no session ended')
    t.equal(events.filter((e) => e.type === 'session-created').length, 2)
  })

  /** A store of `kind` behind `holdable`, to hold one method alone. */
  const heldStore = async (t: Test): Promise<Holdable<OtpStore>> => {
    const inner = kind === 'memory' ? new MemoryStore() : new RedisStore({ client: await freshRedis() })
    if (inner instanceof MemoryStore) t.teardown(() => inner.close())
    return holdable<OtpStore>(inner, otpStoreMethods)
  }

  t.test(`${kind}: a 503 from the SMS budget gives the code's send and resend wait back`, async (t) => {
    const held = await heldStore(t)
    const { login, sent } = await buildApp(t, 'memory', { storeTimeout, store: held.store, codeSecret: CODE_SECRET, smsBudget: { 91: 100 } })
    held.hold(['consumeBudget'])
    let res
    try {
      res = await login(phone)
    } finally {
      held.release()
    }
    t.equal(res.statusCode, 503)
    t.equal(sent.length, 0)
    const again = await login(phone)
    t.equal(again.statusCode, 200, 'no resend wait')
    t.equal(sent.length, 1)
  })

  t.test(`${kind}: two logins whose SMS budget call answers late (503), then the budget still allows its 2 codes`, async (t) => {
    const held = await heldStore(t)
    const logs: string[] = []
    const { login, sent } = await buildApp(t, 'memory', {
      storeTimeout, store: held.store, codeSecret: CODE_SECRET, smsBudget: { 91: 2 }, resendInterval: 0
    }, logs)
    held.hold(['consumeBudget'])
    let timedOut
    try {
      timedOut = await Promise.all([login('+919876543210'), login('+919876543211')])
    } finally {
      held.release()
    }
    t.same(timedOut.map((res) => res.statusCode), [503, 503])
    await lateCallsUndone(t, logs, 'consumeBudget', 2)
    const after = [await login('+919876543212'), await login('+919876543213'), await login('+919876543214')]
    t.same(after.map((res) => res.json().code ?? res.statusCode), [200, 200, 'OTP_SEND_BUDGET_EXCEEDED'], 'two codes, then the budget is used up')
    t.same(sent.map((s) => s.to), ['+919876543212', '+919876543213'])
  })

  t.test(`${kind}: a late createSession whose ended session cannot be restored: the error log names it`, async (t) => {
    const held = await heldStore(t)
    // All the user's sessions are logged out between the late answer and its undo: the parked one too, for good.
    const store: OtpStore = {
      ...held.store,
      restoreSessions: async (userKey, ids) => { await held.store.endSessions(userKey, 'all'); return await held.store.restoreSessions(userKey, ids) }
    }
    const errors: string[] = []
    const bounded = otpStoreWithDeadline(store, storeTimeout, {
      warn: () => {},
      error: (details, message) => { errors.push(`${message} ${JSON.stringify(details)}`) }
    })
    const policy = { ttlMs: 60_000, now: Date.now(), maxSessions: 1 }
    const record = { tokenHash: 'h', claims: '{}', amr: '["sms"]' }
    await bounded.createSession('u1', 's1', record, policy)
    held.hold(['createSession'])
    try {
      await t.rejects(bounded.createSession('u1', 's2', record, policy), /did not answer within/)
    } finally {
      held.release()
    }
    for (let i = 0; i < 1000 && errors.length === 0; i++) await sleep(10)
    t.match(errors.join(''), /createSession answered after storeTimeout .* could not be undone.*stay ended \(not restored\): s1/)
    t.equal(await held.store.isSessionLive('u1', 's1'), false)
    t.equal(await held.store.isSessionLive('u1', 's2'), false)
  })

  t.test(`${kind}: a sign-in answered 503 leaves no session behind`, async (t) => {
    const held = await heldStore(t)
    const logs: string[] = []
    const { app, login, verify, codeFor } = await buildApp(t, 'memory', {
      storeTimeout, store: held.store, codeSecret: CODE_SECRET, resendInterval: 0, findOrCreateUser: () => ({ id: 'u1' })
    }, logs)
    await login(phone)
    held.hold(['createSession'])
    let res
    try {
      res = await verify(phone, codeFor(phone))
    } finally {
      held.release()
    }
    t.equal(res.statusCode, 503)
    for (let i = 0; i < 1000 && !logs.some((line) => line.includes('createSession answered after storeTimeout')); i++) await sleep(10)
    t.match(logs.join(''), /store\.createSession answered after storeTimeout \(the request got 503\): undone/)
    await login(phone)
    const signedIn = (await verify(phone, codeFor(phone))).json()
    const list = await app.inject({ url: '/sessions', headers: { authorization: `Bearer ${signedIn.access as string}` } })
    t.equal(list.json().sessions.length, 1, 'only the session whose tokens the user got')
  })
}
