import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildApp, freshRedis, storeKinds, type StoreKind, claims } from './helpers/app.js'

const phone = '+919876543210'

async function loggedIn (t: Tap, kind: StoreKind, options = {}) {
  const built = await buildApp(t, kind, { resendInterval: 0, findOrCreateUser: () => ({ id: 'u1', role: 'admin' }), ...options })
  const session = async () => {
    await built.login(phone)
    return (await built.verify(phone, built.codeFor(phone))).json() as { access: string, refresh: string }
  }
  const refresh = async (token: string) => await built.app.inject({ method: 'POST', url: '/refresh', payload: { refresh: token } })
  const me = async (access: string) => await built.app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })
  const logout = async (access?: string) => await built.app.inject({
    method: 'POST', url: '/logout', headers: access === undefined ? {} : { authorization: `Bearer ${access}` }
  })
  return { ...built, session, refresh, me, logout }
}
type Tap = Parameters<typeof buildApp>[0]

for (const kind of storeKinds) {
  t.test(`${kind} store`, async (t) => {
    t.test('refresh rotates: a new access token and a new refresh token, same claims and session', async (t) => {
      const { session, refresh, me } = await loggedIn(t, kind)
      const first = await session()
      t.match(first.refresh, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
      const res = await refresh(first.refresh)
      t.equal(res.statusCode, 200)
      const next = res.json()
      t.same(Object.keys(next).sort(), ['access', 'expiresIn', 'refresh', 'refreshExpiresIn', 'tokenType'])
      t.equal(next.refreshExpiresIn, 30 * 86400)
      t.not(next.refresh, first.refresh)
      t.not(next.access, first.access)
      const a = claims(first.access)
      const b = claims(next.access)
      t.match(b, { sub: 'u1', role: 'admin', phone, sid: a.sid })
      t.not(b.jti, a.jti, 'a new jti')
      t.equal((await me(next.access)).statusCode, 200)
      t.equal((await refresh(next.refresh)).statusCode, 200, 'and again')
    })

    t.test('a spent refresh token revokes its whole family: 401 OTP_REFRESH_REUSED', async (t) => {
      // Without the grace (test/refresh-grace.test.ts): the second presentation is reuse.
      const { session, refresh, me } = await loggedIn(t, kind, { refreshGrace: 0 })
      const first = await session()
      const other = await session()
      const next = (await refresh(first.refresh)).json()
      const reused = await refresh(first.refresh)
      t.equal(reused.statusCode, 401)
      t.equal(reused.json().code, 'OTP_REFRESH_REUSED')
      t.equal((await refresh(next.refresh)).json().code, 'OTP_REFRESH_INVALID', 'the family is gone')
      for (const access of [first.access, next.access]) {
        const res = await me(access)
        t.equal(res.statusCode, 401, "the family's access tokens are refused")
        t.equal(res.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED')
      }
      t.equal((await me(other.access)).statusCode, 200, 'another session of the same user lives on')
      t.equal((await refresh(other.refresh)).statusCode, 200)
    })

    t.test('unknown, forged, malformed and expired refresh tokens: 401 OTP_REFRESH_INVALID', async (t) => {
      const { session, refresh } = await loggedIn(t, kind)
      const real = await session()
      const [familyId] = real.refresh.split('.')
      for (const token of [
        `${'A'.repeat(22)}.${'B'.repeat(43)}`, // unknown family
        `${familyId}.${'B'.repeat(43)}`, // right family, wrong secret
        'not-a-token',
        real.access // an access token is not a refresh token
      ]) {
        const res = await refresh(token)
        t.equal(res.statusCode, token.length > 128 ? 400 : 401, token.slice(0, 20))
      }
      t.equal((await refresh(real.refresh)).statusCode, 200, 'forgeries did not end the family')
      const short = await loggedIn(t, kind, { refreshTokenTtl: 1 })
      const expiring = await short.session()
      await sleep(1100)
      t.equal((await short.refresh(expiring.refresh)).json().code, 'OTP_REFRESH_INVALID', 'expired')
    })

    t.test('ten parallel refreshes with one token: exactly one succeeds without the grace, two with it', async (t) => {
      for (const [refreshGrace, succeed] of [[0, 1], [10, 2]] as const) {
        const { session, refresh } = await loggedIn(t, kind, { refreshGrace })
        const first = await session()
        const results = await Promise.all(Array.from({ length: 10 }, () => refresh(first.refresh)))
        t.equal(results.filter((r) => r.statusCode === 200).length, succeed, `refreshGrace ${refreshGrace}`)
        // The first presentation beyond them is reuse and ends the family for everyone.
        t.equal(results.filter((r) => r.json().code === 'OTP_REFRESH_REUSED').length, 1)
        t.equal(results.filter((r) => r.json().code === 'OTP_REFRESH_INVALID').length, 9 - succeed)
      }
    })

    t.test('logout: 204, then the access token and the refresh family are refused', async (t) => {
      const { session, refresh, me, logout } = await loggedIn(t, kind)
      const current = await session()
      const other = await session()
      const res = await logout(current.access)
      t.equal(res.statusCode, 204)
      t.equal(res.body, '')
      const after = await me(current.access)
      t.equal(after.statusCode, 401, 'a token presented after logout')
      t.equal(after.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED')
      t.equal((await refresh(current.refresh)).json().code, 'OTP_REFRESH_INVALID')
      t.equal((await logout(current.access)).statusCode, 401, 'cannot log out twice')
      t.equal((await me(other.access)).statusCode, 200, 'other sessions are untouched')
    })

    t.test('logout needs a valid access token', async (t) => {
      const { logout } = await loggedIn(t, kind)
      t.equal((await logout()).json().code, 'FST_JWT_NO_AUTHORIZATION_IN_HEADER')
      t.equal((await logout('garbage')).statusCode, 401)
    })

    t.test('refreshTokenTtl sets refreshExpiresIn', async (t) => {
      const { session, refresh } = await loggedIn(t, kind, { refreshTokenTtl: '7d' })
      const body = (await refresh((await session()).refresh)).json()
      t.equal(body.refreshExpiresIn, 7 * 86400)
    })
  })
}

t.test('refresh tokens are stored only as hashes, every session key expires', async (t) => {
  const { session, logout } = await loggedIn(t, 'redis')
  const redis = await freshRedis()
  const first = await session()
  const second = await session()
  await logout(second.access)
  const keys = await redis.keys('otp:{u:*')
  t.ok(keys.length >= 2, `session keys: ${keys.join(', ')}`)
  for (const key of keys) {
    const type = await redis.type(key)
    const value = type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : JSON.stringify(await redis.zrange(key, 0, -1))
    const secret = first.refresh.split('.')[2] ?? ''
    t.notMatch(key + value, secret, `${key} does not hold a refresh token`)
    t.ok(await redis.pttl(key) > 0, `${key} expires`)
  }
})

t.test('a session refreshed many times stays small in Redis', async (t) => {
  const { session, refresh } = await loggedIn(t, 'redis')
  const redis = await freshRedis()
  let token = (await session()).refresh
  for (let i = 0; i < 60; i++) token = (await refresh(token)).json().refresh
  const [user, sid] = token.split('.')
  const key = `otp:{u:${user}}:s:${sid}`
  t.ok(await redis.zcard(`${key}:spent`) <= 32, 'at most 32 spent hashes')
  // un, up, uc, ut: what the last refresh replaced (its new and presented token, the token before, the spent hash it
  // forgot), so that a refresh answered 503 can be undone exactly; bounded, one rotation's worth.
  t.same((await redis.hkeys(key)).sort(), ['amr', 'c', 'claims', 'cur', 'gen', 'u', 'uc', 'un', 'up', 'ut'], 'the session hash holds its token hash, claims and times')
  t.ok(await redis.pttl(`${key}:grace`) > 0, 'the grace of the last refresh expires')
  t.ok(await redis.pttl(`${key}:spent`) > 0, 'the spent set expires')
})

t.test('refresh is rate limited per IP', async (t) => {
  const { refresh } = await loggedIn(t, 'memory', { rateLimit: { refresh: { max: 2, timeWindow: 60_000 } } })
  await refresh('x')
  await refresh('x')
  t.equal((await refresh('x')).json().code, 'OTP_RATE_LIMITED')
})
