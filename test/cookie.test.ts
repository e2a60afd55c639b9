import Fastify from 'fastify'
import t from 'tap'
import otpLogin from '../lib/index.js'
import { JWT_SECRET, buildApp, readyWith, storeKinds } from './helpers/app.js'
import { buildTotpApp, codeAt } from './helpers/totp.js'

const phone = '+919876543210'
// The default names: __Host- cookies, which a sibling subdomain or a page on http:// cannot plant.
const REFRESH = '__Host-otp_refresh'
const DEVICE = '__Host-otp_device'

interface SetCookie { name: string, value: string, attributes: string[] }

/** The Set-Cookie headers of a response, read the way a browser would. */
function setCookies (headers: Record<string, unknown>): SetCookie[] {
  const raw = headers['set-cookie']
  const lines = Array.isArray(raw) ? raw as string[] : typeof raw === 'string' ? [raw] : []
  return lines.map((line) => {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim())
    const eq = pair.indexOf('=')
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes: attributes.map((a) => a.toLowerCase()) }
  })
}

for (const kind of storeKinds) {
  t.test(`${kind} store: cookie mode`, async (t) => {
    const signIn = async (app: Awaited<ReturnType<typeof buildApp>>, url = '') => {
      await app.app.inject({ method: 'POST', url: `${url}/login`, payload: { phone } })
      return await app.app.inject({ method: 'POST', url: `${url}/verify-otp`, payload: { phone, otp: app.codeFor(phone) } })
    }

    t.test('a sign-in sets __Host- cookies: HttpOnly, Secure, SameSite=Strict, host-only, Path=/; no token in the body', async (t) => {
      const app = await buildApp(t, kind, { cookie: {}, prefix: '/api/auth' })
      const res = await signIn(app, '/api/auth')
      t.equal(res.statusCode, 200)
      const body = res.json()
      t.same(Object.keys(body).sort(), ['access', 'expiresIn', 'refreshExpiresIn', 'tokenType'], 'no refresh or device token in the body')
      const cookies = setCookies(res.headers)
      t.same(cookies.map((c) => c.name).sort(), [DEVICE, REFRESH], 'the plugin sets these two cookies and no other')
      for (const cookie of cookies) {
        t.ok(cookie.attributes.includes('httponly'), `${cookie.name} HttpOnly`)
        t.ok(cookie.attributes.includes('secure'), `${cookie.name} Secure`)
        t.ok(cookie.attributes.includes('samesite=strict'), `${cookie.name} SameSite=Strict`)
        t.ok(cookie.attributes.includes('path=/'), `${cookie.name} at / (a __Host- cookie must be)`)
        t.notOk(cookie.attributes.some((a) => a.startsWith('domain=')), 'host-only')
      }
      t.ok(cookies.find((c) => c.name === REFRESH)?.attributes.includes(`max-age=${30 * 86400}`))
      t.ok(cookies.find((c) => c.name === DEVICE)?.attributes.includes(`max-age=${90 * 86400}`))
      t.notMatch(res.body, cookies[0]?.value ?? 'x')
    })

    t.test('/refresh reads and rotates the cookie with no body; a spent cookie ends the session and is cleared', async (t) => {
      const app = await buildApp(t, kind, { cookie: {} })
      const first = setCookies((await signIn(app)).headers).find((c) => c.name === REFRESH)?.value ?? ''
      const refresh = async (cookie: string, extra: Record<string, unknown> = {}) =>
        await app.app.inject({ method: 'POST', url: '/refresh', headers: { cookie }, ...extra })
      const res = await refresh(`${REFRESH}=${first}`)
      t.equal(res.statusCode, 200)
      t.same(Object.keys(res.json()).sort(), ['access', 'expiresIn', 'refreshExpiresIn', 'tokenType'])
      const next = setCookies(res.headers).find((c) => c.name === REFRESH)?.value ?? ''
      t.not(next, first, 'rotated')
      t.equal((await app.app.inject({ url: '/me', headers: { authorization: `Bearer ${res.json().access}` } })).statusCode, 200)
      t.equal((await refresh(`${REFRESH}=${next}`, { payload: {} })).statusCode, 200, 'an empty JSON body is fine too')

      const reused = await refresh(`${REFRESH}=${first}`)
      t.equal(reused.json().code, 'OTP_REFRESH_REUSED')
      t.match(setCookies(reused.headers).find((c) => c.name === REFRESH), { value: '' }, 'the dead cookie is cleared')
    })

    t.test('bad cookies and bodies get a clear 4xx', async (t) => {
      const app = await buildApp(t, kind, { cookie: {} })
      const real = setCookies((await signIn(app)).headers).find((c) => c.name === REFRESH)?.value ?? ''
      const cases: Array<[string, Record<string, string>, unknown, number, string]> = [
        ['no cookie', {}, undefined, 401, 'OTP_REFRESH_INVALID'],
        ['a cookie that is not ours', { cookie: `${REFRESH}=hello` }, undefined, 401, 'OTP_REFRESH_INVALID'],
        ['two cookies of the same name', { cookie: `${REFRESH}=${real}; ${REFRESH}=${real}` }, undefined, 401, 'OTP_REFRESH_INVALID'],
        ['an over-long cookie', { cookie: `${REFRESH}=${'a'.repeat(5000)}` }, undefined, 401, 'OTP_REFRESH_INVALID'],
        ['a refresh token in the body', { cookie: `${REFRESH}=${real}` }, { refresh: real }, 400, 'FST_ERR_VALIDATION'],
        ['a garbled cookie header', { cookie: `;;=;${REFRESH}` }, undefined, 401, 'OTP_REFRESH_INVALID']
      ]
      for (const [name, headers, payload, status, code] of cases) {
        const res = await app.app.inject({ method: 'POST', url: '/refresh', headers, ...(payload === undefined ? {} : { payload: payload as object }) })
        t.equal(res.statusCode, status, name)
        t.equal(res.json().code, code, name)
      }
      t.equal((await app.app.inject({ method: 'POST', url: '/refresh', headers: { cookie: `${REFRESH}=${real}` } })).statusCode, 200, 'the real one still works')
    })

    t.test('a foreign Origin never refreshes or logs out; the same host or a listed origin does', async (t) => {
      const app = await buildApp(t, kind, { cookie: {} })
      const signedIn = await signIn(app)
      let cookie = `${REFRESH}=${setCookies(signedIn.headers).find((c) => c.name === REFRESH)?.value ?? ''}`
      const access = signedIn.json().access
      const refresh = async (origin?: string) => await app.app.inject({
        method: 'POST', url: '/refresh', headers: { cookie, host: 'app.example.com', ...(origin === undefined ? {} : { origin }) }
      })
      const foreign = await refresh('https://evil.example.net')
      t.equal(foreign.statusCode, 403)
      t.equal(foreign.json().code, 'OTP_ORIGIN_NOT_ALLOWED')
      t.equal((await refresh('null')).statusCode, 403, 'an opaque origin')
      t.equal((await refresh('https://app.example.com')).statusCode, 403, 'https:// is another origin: the request came over http (inject)')
      const same = await refresh('http://app.example.com')
      t.equal(same.statusCode, 200, 'the page of the same origin; the foreign tries spent nothing')
      cookie = `${REFRESH}=${setCookies(same.headers).find((c) => c.name === REFRESH)?.value ?? ''}`
      t.equal((await refresh()).statusCode, 200, 'no Origin header (not a cross-site browser request)')

      const logout = await app.app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${access}`, origin: 'https://evil.example.net', host: 'app.example.com' } })
      t.equal(logout.json().code, 'OTP_ORIGIN_NOT_ALLOWED')
      const login = await app.app.inject({ method: 'POST', url: '/login', payload: { phone }, headers: { origin: 'https://evil.example.net', host: 'app.example.com' } })
      t.equal(login.json().code, 'OTP_ORIGIN_NOT_ALLOWED', 'nor sign in (the device cookie)')

      const listed = await buildApp(t, kind, { cookie: {}, allowedOrigins: ['https://app.example.com'] })
      const other = await signIn(listed)
      const listedCookie = `${REFRESH}=${setCookies(other.headers).find((c) => c.name === REFRESH)?.value ?? ''}`
      const from = async (origin: string) => await listed.app.inject({ method: 'POST', url: '/refresh', headers: { cookie: listedCookie, origin, host: 'api.example.com' } })
      t.equal((await from('https://api.example.com')).statusCode, 403, 'with allowedOrigins, only those')
      t.equal((await from('https://app.example.com')).statusCode, 200)
    })

    t.test('/logout ends the session and clears both cookies', async (t) => {
      const app = await buildApp(t, kind, { cookie: {} })
      const signedIn = await signIn(app)
      const cookie = `${REFRESH}=${setCookies(signedIn.headers).find((c) => c.name === REFRESH)?.value ?? ''}`
      const res = await app.app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${signedIn.json().access}`, cookie } })
      t.equal(res.statusCode, 204)
      const cleared = setCookies(res.headers)
      t.same(cleared.map((c) => [c.name, c.value]).sort(), [[DEVICE, ''], [REFRESH, '']], 'both cleared')
      t.ok(cleared.every((c) => c.attributes.some((a) => a.startsWith('expires=thu, 01 jan 1970')) && c.attributes.includes('path=/')))
      t.equal((await app.app.inject({ method: 'POST', url: '/refresh', headers: { cookie } })).json().code, 'OTP_REFRESH_INVALID')
    })

    t.test('the device cookie lets a trusted device past a lockout', async (t) => {
      const app = await buildApp(t, kind, { cookie: {}, maxSends: 2, resendInterval: 0 })
      const device = setCookies((await signIn(app)).headers).find((c) => c.name === DEVICE)?.value ?? ''
      for (let i = 0; i < 3; i++) await app.login(phone)
      t.equal((await app.login(phone)).json().code, 'OTP_LOCKED')
      const withCookie = await app.app.inject({ method: 'POST', url: '/login', payload: { phone }, headers: { cookie: `${DEVICE}=${device}` } })
      t.equal(withCookie.statusCode, 200)
    })
  })
}

t.test('cookie mode with authenticators: the second step sets the cookies, no body carries a token', async (t) => {
  const app = await buildTotpApp(t, 'memory', { cookie: {}, totpMode: 'second-factor' })
  const { secret } = await app.enable(phone)
  const first = await app.firstFactor(phone)
  t.same(setCookies(first.headers), [], 'no cookies before the second factor')
  const done = await app.mfaTotp(first.json().mfaToken, codeAt(secret, app.step()))
  t.equal(done.statusCode, 200)
  t.notOk('refresh' in done.json() || 'deviceToken' in done.json())
  t.same(setCookies(done.headers).map((c) => c.name).sort(), [DEVICE, REFRESH])
})

t.test('without cookie mode nothing changes: no cookies, tokens in the body', async (t) => {
  const app = await buildApp(t, 'memory')
  await app.login(phone)
  const res = await app.verify(phone, app.codeFor(phone))
  t.equal(res.headers['set-cookie'], undefined)
  t.ok(res.json().refresh && res.json().deviceToken)
})

t.test('a host that registered @fastify/cookie itself; cookie options', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(import('@fastify/cookie'))
  await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, rateLimit: false, send: () => {}, testIdentities: { [phone]: '123456' }, cookie: { name: 'sid', path: '/', sameSite: 'lax', secure: false, domain: 'example.com' } })
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const res = await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: '123456' } })
  const cookies = setCookies(res.headers)
  t.same(cookies.map((c) => c.name).sort(), ['sid', 'sid_device'])
  t.ok(cookies.every((c) => c.attributes.includes('samesite=lax') && !c.attributes.includes('secure') && c.attributes.includes('domain=example.com') && c.attributes.includes('path=/')))

  const base = { jwt: { secret: JWT_SECRET }, send: () => {} }
  await t.rejects(readyWith({ ...base, cookie: { name: 'a b' } }), /cookie.name/)
  await t.rejects(readyWith({ ...base, cookie: { sameSite: 'none', secure: false } }), /cookie.secure/)
  await t.rejects(readyWith({ ...base, cookie: { path: 'x' } }), /cookie.path/)
  await t.rejects(readyWith({ ...base, cookie: { signed: true } }), /unknown option "cookie.signed"/)
  await t.rejects(readyWith({ ...base, allowedOrigins: ['https://a.example'] }), /needs "cookie"/)
  await t.rejects(readyWith({ ...base, cookie: {}, allowedOrigins: ['https://a.example/path'] }), /allowedOrigins/)
})
