import Fastify from 'fastify'
import t, { type Test } from 'tap'
import otpLogin, { type OtpEvent } from '../lib/index.js'
import { CODE_SECRET, JWT_SECRET, buildApp, claims, everyStore, freshRedis, storeKinds, type StoreKind } from './helpers/app.js'
import { TOTP_KEY } from './helpers/totp.js'

const phone = '+919876543210'

/** Claims to sign again: without iat and exp, which the signer sets. */
function resign (c: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const { iat, exp, ...rest } = { ...c, ...changes }
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined))
}

/** An app whose every sign-in is user u1's, with helpers to sign in and use tokens. */
async function sessionsApp (t: Test, kind: StoreKind, options = {}) {
  const events: OtpEvent[] = []
  const built = await buildApp(t, kind, {
    resendInterval: 0, maxSends: 100, findOrCreateUser: () => ({ id: 'u1' }), onEvent: (event) => { events.push(event) }, ...options
  })
  const { app } = built
  const signIn = async (): Promise<{ access: string, refresh: string, sid: string }> => {
    await built.login(phone)
    const body = (await built.verify(phone, built.codeFor(phone))).json()
    return { access: body.access, refresh: body.refresh, sid: String(claims(body.access).sid) }
  }
  const bearer = (access: string) => ({ authorization: `Bearer ${access}` })
  const me = async (access: string) => (await app.inject({ url: '/me', headers: bearer(access) })).statusCode
  const refresh = async (token: string) => (await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: token } })).statusCode
  const list = async (access: string) => await app.inject({ url: '/sessions', headers: bearer(access) })
  const end = async (access: string, id: string) => await app.inject({ method: 'DELETE', url: `/sessions/${id}`, headers: bearer(access) })
  const logout = async (access: string, payload?: unknown) =>
    await app.inject({ method: 'POST', url: '/logout', headers: bearer(access), ...(payload === undefined ? {} : { payload: payload as object }) })
  /** Which of `sessions` still work: their access token at /me and their refresh token at /refresh. */
  const working = async (sessions: Array<{ access: string, refresh: string }>): Promise<boolean[]> => {
    const result: boolean[] = []
    for (const session of sessions) {
      const access = await me(session.access) === 200
      // A refresh rotates: the session goes on with the new token (the old one would now be reuse).
      const res = await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: session.refresh } })
      const refreshed = res.statusCode === 200
      if (refreshed) session.refresh = res.json().refresh
      t.equal(access, refreshed, 'access and refresh tokens agree')
      result.push(access)
    }
    return result
  }
  return { ...built, events, signIn, me, refresh, list, end, logout, working }
}

for (const kind of everyStore) {
  t.test(`${kind} store: sessions the user can see and end`, async (t) => {
    t.test('GET /sessions lists the live sessions, newest first, with the current one marked', async (t) => {
      const app = await sessionsApp(t, kind)
      const a = await app.signIn()
      await new Promise((resolve) => setTimeout(resolve, 1100)) // createdAt is in seconds
      const b = await app.signIn()
      const res = await app.list(a.access)
      t.equal(res.statusCode, 200)
      const { sessions } = res.json()
      t.same(sessions.map((s: { id: string }) => s.id), [b.sid, a.sid])
      t.same(sessions.map((s: { current: boolean }) => s.current), [false, true])
      const now = Date.now() / 1000
      for (const s of sessions) {
        t.same(Object.keys(s).sort(), ['amr', 'createdAt', 'current', 'expiresAt', 'id', 'lastUsedAt'])
        t.same(s.amr, ['sms'])
        t.ok(s.createdAt <= now && s.createdAt > now - 10)
        t.ok(s.expiresAt > now + 29 * 86400, 'refreshTokenTtl from its last use')
      }
      t.ok(sessions[0].createdAt > sessions[1].createdAt)
    })

    t.test('DELETE /sessions/:id ends exactly that session; not one of yours is 404', async (t) => {
      const app = await sessionsApp(t, kind)
      const [a, b, c] = [await app.signIn(), await app.signIn(), await app.signIn()]
      const res = await app.end(a.access, b.sid)
      t.equal(res.statusCode, 204)
      t.same(await app.working([a, b, c]), [true, false, true])
      t.match(app.events.find((e) => e.type === 'session-ended'), { reason: 'revoked', sessionId: b.sid, userId: 'u1' })
      const again = await app.end(a.access, b.sid)
      t.equal(again.statusCode, 404)
      t.equal(again.json().code, 'OTP_SESSION_NOT_FOUND')
      t.equal((await app.end(a.access, 'A'.repeat(22))).json().code, 'OTP_SESSION_NOT_FOUND')
      for (const bad of ['short', 'x'.repeat(23), 'a.bcdefghijklmnopqrstu', 'a{b}cdefghijklmnopqrstu']) {
        const malformed = await app.end(a.access, bad)
        t.equal(malformed.statusCode, 400, `id ${bad}`)
        t.equal(malformed.json().code, 'FST_ERR_VALIDATION')
      }
    })

    t.test('a session of another user cannot be listed or ended', async (t) => {
      let user = 'u1'
      const app = await sessionsApp(t, kind, { findOrCreateUser: () => ({ id: user }) })
      const mine = await app.signIn()
      user = 'u2'
      const theirs = await app.signIn()
      t.equal((await app.end(mine.access, theirs.sid)).statusCode, 404)
      t.same((await app.list(mine.access)).json().sessions.map((s: { id: string }) => s.id), [mine.sid])
      t.same(await app.working([theirs]), [true])
    })

    t.test('logout scopes: current (the default, also with no body), others, all', async (t) => {
      const app = await sessionsApp(t, kind)
      const [a, b, c, d] = [await app.signIn(), await app.signIn(), await app.signIn(), await app.signIn()]
      t.equal((await app.logout(a.access)).statusCode, 204, 'no body')
      t.same(await app.working([a, b, c, d]), [false, true, true, true])
      t.equal((await app.logout(b.access, { scope: 'others' })).statusCode, 204)
      t.same(await app.working([b, c, d]), [true, false, false])
      const e = await app.signIn()
      t.equal((await app.logout(b.access, { scope: 'current' })).statusCode, 204)
      t.same(await app.working([b, e]), [false, true])
      const f = await app.signIn()
      t.equal((await app.logout(e.access, { scope: 'all' })).statusCode, 204)
      t.same(await app.working([e, f]), [false, false])
      t.equal((await app.logout(e.access, { scope: 'others' })).statusCode, 401, 'an ended session cannot end others')
    })

    t.test('logout: bad scopes and bodies get 400', async (t) => {
      const app = await sessionsApp(t, kind)
      const a = await app.signIn()
      for (const body of [{ scope: 'everything' }, { scope: 1 }, { scope: 'all', extra: 1 }, ['all']]) {
        const res = await app.logout(a.access, body)
        t.equal(res.statusCode, 400, JSON.stringify(body))
        t.equal(res.json().code, 'FST_ERR_VALIDATION')
      }
      t.same(await app.working([a]), [true], 'nothing ended')
    })

    t.test('maxSessions: a new sign-in ends the least recently used session', async (t) => {
      const app = await sessionsApp(t, kind, { maxSessions: 2 })
      const a = await app.signIn()
      const b = await app.signIn()
      t.equal(await app.refresh(a.refresh), 200, 'a is used after b')
      const c = await app.signIn()
      t.equal(await app.me(b.access), 401, 'b ended')
      t.equal(await app.me(c.access), 200)
      t.match(app.events.filter((e) => e.type === 'session-ended'), [{ reason: 'limit', sessionId: b.sid }])
      t.same((await app.list(c.access)).json().sessions.map((s: { id: string }) => s.id).sort(), [a.sid, c.sid].sort())
    })

    t.test('app.otpSessions: list, revoke and revokeAll for the host', async (t) => {
      const app = await sessionsApp(t, kind)
      const [a, b, c] = [await app.signIn(), await app.signIn(), await app.signIn()]
      const listed = await app.app.otpSessions.list('u1')
      t.same(listed.map((s) => s.id).sort(), [a.sid, b.sid, c.sid].sort())
      t.notOk('current' in (listed[0] ?? {}), 'no current session outside a request')
      t.equal(await app.app.otpSessions.revoke('u1', a.sid), true)
      t.equal(await app.app.otpSessions.revoke('u1', a.sid), false, 'already ended')
      t.equal(await app.app.otpSessions.revoke('u2', b.sid), false, "not u2's")
      t.equal(await app.app.otpSessions.revoke('u1', 'not an id'), false)
      t.same(await app.working([a, b, c]), [false, true, true])
      t.equal(await app.app.otpSessions.revokeAll('u1'), 2)
      t.same(await app.working([b, c]), [false, false])
      t.same(await app.app.otpSessions.list('u1'), [])
      t.equal(await app.app.otpSessions.revokeAll('nobody'), 0)
    })
  })
}

t.test('after FLUSHALL every token fails: sessions are an allow-list', async (t) => {
  const app = await sessionsApp(t, 'redis', { sessionCache: false })
  const a = await app.signIn()
  t.equal(await app.me(a.access), 200)
  await (await freshRedis()).flushall()
  t.equal(await app.me(a.access), 401)
  t.equal(await app.refresh(a.refresh), 401)
  t.equal((await app.list(a.access)).statusCode, 401)
  t.equal((await app.logout(a.access)).statusCode, 401)
})

t.test('fresh sign-in: account changes need a token whose auth_time is recent', async (t) => {
  const app = await sessionsApp(t, 'memory', { totpEncryptionKey: TOTP_KEY, freshAuthAge: 60 })
  const a = await app.signIn()
  const c = claims(a.access)
  // The same session, signed in long ago: a token the plugin's own key signs with an older auth_time.
  const stale = app.app.jwt.sign(resign(c, { auth_time: Number(c.auth_time) - 61 }))
  t.equal(await app.me(stale), 200, 'an older sign-in is still a sign-in')
  const bearer = { authorization: `Bearer ${stale}` }
  for (const [method, url, payload] of [['POST', '/totp/setup'], ['POST', '/totp/confirm', { otp: '123456' }], ['DELETE', '/totp']] as const) {
    const res = await app.app.inject({ method, url, headers: bearer, ...(payload ? { payload } : {}) })
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.equal(res.json().code, 'OTP_FRESH_AUTH_REQUIRED')
  }
  t.equal((await app.app.inject({ method: 'POST', url: '/totp/setup', headers: { authorization: `Bearer ${a.access}` } })).statusCode, 200, 'a fresh one can')
  const noTime = app.app.jwt.sign(resign(c, { auth_time: undefined }))
  t.equal((await app.app.inject({ method: 'DELETE', url: '/totp', headers: { authorization: `Bearer ${noTime}` } })).json().code, 'OTP_FRESH_AUTH_REQUIRED', 'no auth_time: not fresh')
})

t.test('app.requireFreshAuth(maxAge) for host routes', async (t) => {
  const app = Fastify()
  await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, rateLimit: false, resendInterval: 0, send: () => {}, testIdentities: { [phone]: '123456' } })
  app.delete('/account', { onRequest: [app.requireFreshAuth(30)] }, async () => ({ deleted: true }))
  app.post('/email', { onRequest: [app.requireFreshAuth()] }, async () => ({ changed: true }))
  t.teardown(() => app.close())
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const access = (await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: '123456' } })).json().access
  const c = claims(access)
  const aged = (seconds: number) => ({ authorization: `Bearer ${app.jwt.sign(resign(c, { auth_time: Number(c.auth_time) - seconds }))}` })
  t.equal((await app.inject({ method: 'DELETE', url: '/account', headers: aged(0) })).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/account', headers: aged(31) })).json().code, 'OTP_FRESH_AUTH_REQUIRED')
  t.equal((await app.inject({ method: 'POST', url: '/email', headers: aged(200) })).statusCode, 200, 'default freshAuthAge is 300')
  t.equal((await app.inject({ method: 'POST', url: '/email', headers: aged(301) })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/email' })).statusCode, 401, 'no token')
  await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${access}` } })
  t.equal((await app.inject({ method: 'POST', url: '/email', headers: aged(0) })).statusCode, 401, 'an ended session is no sign-in')
  t.throws(() => app.requireFreshAuth(-1), /whole number of seconds/)
})

/**
 * Date.now frozen for the test (put back in teardown): requireFreshAuth, the signer and /refresh all read it.
 * It starts half way through the current second, so the second that auth_time records is known.
 */
function frozenClock (t: Test): { now: () => number, set: (ms: number) => void } {
  const real = Date.now
  let now = Math.floor(real() / 1000) * 1000 + 500
  Date.now = () => now
  t.teardown(() => { Date.now = real })
  return { now: () => now, set: (ms) => { now = ms } }
}

/** An app with host routes behind requireFreshAuth(0), (30) and () with freshAuthAge 60. */
async function freshAuthApp (t: Test, kind: StoreKind) {
  const app = Fastify()
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET },
    rateLimit: false,
    resendInterval: 0,
    maxSends: 100,
    freshAuthAge: 60,
    send: () => {},
    testIdentities: { [phone]: '123456' },
    ...(kind === 'redis' ? { redis: await freshRedis(), codeSecret: CODE_SECRET } : {})
  })
  app.get('/fresh-0', { onRequest: [app.requireFreshAuth(0)] }, async () => ({ ok: true }))
  app.get('/fresh-30', { onRequest: [app.requireFreshAuth(30)] }, async () => ({ ok: true }))
  app.get('/fresh', { onRequest: [app.requireFreshAuth()] }, async () => ({ ok: true }))
  t.teardown(() => app.close())
  await app.ready()
  const signIn = async (): Promise<{ access: string, refresh: string }> => {
    await app.inject({ method: 'POST', url: '/login', payload: { phone } })
    return (await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: '123456' } })).json()
  }
  /** The status of `url` with `access`, and the error code of a 403. */
  const call = async (url: string, access: string): Promise<string> => {
    const res = await app.inject({ url, headers: { authorization: `Bearer ${access}` } })
    return res.statusCode === 403 ? `403 ${String(res.json().code)}` : String(res.statusCode)
  }
  return { app, signIn, call }
}

for (const kind of storeKinds) {
  t.test(`${kind} store: requireFreshAuth(maxAge) at the second: exactly maxAge old is fresh, a second more is not`, async (t) => {
    const clock = frozenClock(t)
    const { signIn, call } = await freshAuthApp(t, kind)
    const { access } = await signIn()
    const signedIn = Number(claims(access).auth_time)
    t.equal(signedIn, Math.floor(clock.now() / 1000), 'auth_time is the second of the sign-in')
    for (const [url, maxAge] of [['/fresh-0', 0], ['/fresh-30', 30], ['/fresh', 60]] as const) {
      clock.set((signedIn + maxAge) * 1000 + 999)
      t.equal(await call(url, access), '200', `${url}: a sign-in exactly ${maxAge} s old is fresh (at most maxAge)`)
      clock.set((signedIn + maxAge + 1) * 1000)
      t.equal(await call(url, access), '403 OTP_FRESH_AUTH_REQUIRED', `${url}: ${maxAge + 1} s old is not`)
    }
  })

  t.test(`${kind} store: a refresh long after the sign-in keeps auth_time, so its token is no fresh sign-in`, async (t) => {
    const clock = frozenClock(t)
    const { app, signIn, call } = await freshAuthApp(t, kind)
    const first = await signIn()
    const signedIn = Number(claims(first.access).auth_time)
    clock.set(clock.now() + 45_000)
    const res = await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: first.refresh } })
    t.equal(res.statusCode, 200)
    const refreshed = claims(res.json().access)
    t.equal(refreshed.iat, signedIn + 45, 'a new token, 45 s after the sign-in')
    t.equal(refreshed.auth_time, signedIn, 'with the auth_time of the sign-in: a refresh is not a sign-in')
    t.equal(await call('/fresh-30', res.json().access), '403 OTP_FRESH_AUTH_REQUIRED', 'not fresh for requireFreshAuth(30)')
    t.equal(await call('/fresh', res.json().access), '200', 'fresh for freshAuthAge 60')
  })
}
