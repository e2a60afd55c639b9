import t, { type Test } from 'tap'
import { MemoryStore, type OtpEvent, type OtpLoginOptions } from '../lib/index.js'
import { buildApp, CODE_SECRET, claims, everyStore, freshCluster, freshRedis, readyWith, type StoreKind } from './helpers/app.js'
import { manualClock, redisClock, type TestClock } from './helpers/clock.js'

const phone = '+919876543210'

/** An app of `kind` whose store's clock the test moves, with helpers to sign in, refresh and use a token. */
async function graceApp (t: Test, kind: StoreKind, options: Partial<OtpLoginOptions> = {}) {
  const events: OtpEvent[] = []
  let clock: TestClock
  let storeOptions: Partial<OtpLoginOptions>
  if (kind === 'memory') {
    clock = manualClock(Date.now())
    const store = new MemoryStore({ now: clock.now })
    t.teardown(() => store.close())
    storeOptions = { store, codeSecret: CODE_SECRET }
  } else {
    const redis = kind === 'redis' ? await freshRedis() : await freshCluster()
    clock = redisClock(redis)
    storeOptions = { redis, codeSecret: CODE_SECRET }
  }
  const built = await buildApp(t, 'memory', {
    resendInterval: 0, maxSends: 100, findOrCreateUser: () => ({ id: 'u1' }), onEvent: (event) => { events.push(event) }, ...storeOptions, ...options
  })
  const signIn = async (): Promise<{ access: string, refresh: string }> => {
    await built.login(phone)
    return (await built.verify(phone, built.codeFor(phone))).json()
  }
  const refresh = async (token: string) => await built.app.inject({ method: 'POST', url: '/refresh', payload: { refresh: token } })
  const me = async (access: string) => (await built.app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })).statusCode
  return { ...built, clock, events, signIn, refresh, me }
}

for (const kind of everyStore) {
  t.test(`${kind} store: the refresh grace`, async (t) => {
    t.test('a token presented again within the grace gets a working pair; a third time is reuse and ends the session', async (t) => {
      const { signIn, refresh, me, events } = await graceApp(t, kind)
      const first = await signIn()
      const second = await refresh(first.refresh)
      t.equal(second.statusCode, 200)
      const retry = await refresh(first.refresh)
      t.equal(retry.statusCode, 200, 'the retry (a lost answer)')
      t.not(retry.json().refresh, second.json().refresh, 'a pair of its own')
      t.equal(claims(retry.json().access).sid, claims(first.access).sid, 'in the same session')
      t.equal(await me(retry.json().access), 200)
      events.length = 0
      const third = await refresh(first.refresh)
      t.equal(third.statusCode, 401)
      t.equal(third.json().code, 'OTP_REFRESH_REUSED')
      t.equal(events.length, 2, 'the events of a reuse')
      t.match(events[0], { type: 'refresh-failed', reason: 'reused' })
      t.match(events[1], { type: 'session-ended', reason: 'reuse', sessionId: claims(first.access).sid })
      for (const body of [second.json(), retry.json()]) {
        t.equal(await me(body.access), 401, 'every access token of the session is refused')
        t.equal((await refresh(body.refresh)).json().code, 'OTP_REFRESH_INVALID', 'and every refresh token')
      }
    })

    t.test('after the grace, a spent token is reuse', async (t) => {
      const { signIn, refresh, me, clock } = await graceApp(t, kind, { refreshGrace: 5 })
      const first = await signIn()
      const second = (await refresh(first.refresh)).json()
      await clock.advance(5_000)
      t.equal((await refresh(first.refresh)).json().code, 'OTP_REFRESH_REUSED')
      t.equal(await me(second.access), 401, 'the session ended')
    })

    t.test('refreshGrace: 0 is strict reuse detection, as before', async (t) => {
      const { signIn, refresh, me } = await graceApp(t, kind, { refreshGrace: 0 })
      const first = await signIn()
      const second = (await refresh(first.refresh)).json()
      t.equal((await refresh(first.refresh)).json().code, 'OTP_REFRESH_REUSED')
      t.equal(await me(second.access), 401)
    })

    t.test('two tabs refresh at once with one token: both get a pair; the first used goes on, the other is spent', async (t) => {
      for (const order of ['a first', 'b first']) {
        const { signIn, refresh, me } = await graceApp(t, kind)
        const first = await signIn()
        const results = await Promise.all([refresh(first.refresh), refresh(first.refresh)])
        t.same(results.map((r) => r.statusCode), [200, 200], `${order}: both tabs get 200`)
        const [a, b] = results.map((r) => r.json() as { access: string, refresh: string })
        if (a === undefined || b === undefined) throw new Error('two answers')
        const [used, other] = order === 'a first' ? [a, b] : [b, a]
        t.equal(await me(a.access), 200)
        t.equal(await me(b.access), 200)
        const next = await refresh(used.refresh)
        t.equal(next.statusCode, 200, `${order}: the token used first goes on`)
        t.equal((await refresh(next.json().refresh)).statusCode, 200, 'and its successor')
        t.equal((await refresh(other.refresh)).json().code, 'OTP_REFRESH_REUSED', 'the other one was spent with it')
      }
    })

    t.test('three refreshes at once with one token: the third is reuse, the session ends', async (t) => {
      const { signIn, refresh, me } = await graceApp(t, kind)
      const first = await signIn()
      const results = await Promise.all([refresh(first.refresh), refresh(first.refresh), refresh(first.refresh)])
      t.same(results.map((r) => r.statusCode).sort(), [200, 200, 401])
      t.equal(results.filter((r) => r.json().code === 'OTP_REFRESH_REUSED').length, 1)
      for (const res of results.filter((r) => r.statusCode === 200)) {
        t.equal(await me(res.json().access), 401, 'the pairs handed out die with the session')
        t.equal((await refresh(res.json().refresh)).json().code, 'OTP_REFRESH_INVALID')
      }
    })
  })
}

t.test('cookie mode: a lost answer, then the old cookie again within the grace, keeps the session', async (t) => {
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', { cookie: {}, resendInterval: 0 })
  await login(phone)
  const signedIn = await verify(phone, codeFor(phone))
  const cookie = (res: { headers: Record<string, unknown> }): string => {
    const header = res.headers['set-cookie']
    const all = Array.isArray(header) ? header as string[] : [String(header)]
    // The refresh cookie, whatever its prefix (`__Host-`), never the device cookie.
    return (all.find((c) => /^(?:__Host-)?otp_refresh=/.test(c)) ?? '').split(';')[0] ?? ''
  }
  const first = cookie(signedIn)
  const refresh = async (value: string) => await app.inject({ method: 'POST', url: '/refresh', headers: { cookie: value } })
  t.equal((await refresh(first)).statusCode, 200, 'an answer the browser never got')
  const retry = await refresh(first)
  t.equal(retry.statusCode, 200, 'the same cookie again')
  t.equal((await refresh(cookie(retry))).statusCode, 200, 'and the new cookie goes on')
})

t.test('refreshGrace is validated', async (t) => {
  const base = { send: () => {}, jwt: { secret: 'x'.repeat(32) } }
  for (const bad of [-1, 301, 1.5, '10', null]) {
    await t.rejects(readyWith({ ...base, refreshGrace: bad }), /option "refreshGrace" must be an integer from 0 to 300/, String(bad))
  }
  await readyWith({ ...base, refreshGrace: 0 })
  await readyWith({ ...base, refreshGrace: 300 })
})
