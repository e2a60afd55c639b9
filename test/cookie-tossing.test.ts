import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import otpLogin, { type OtpLoginOptions } from '../lib/index.js'
import { ensureDefaults } from '../lib/options.js'
import { CODE_SECRET, JWT_SECRET, freshRedis, readyWith, storeKinds, type StoreKind } from './helpers/app.js'

// Cookie tossing (issue 20, point 4): a sibling subdomain, or a network attacker on http://, plants cookies of the
// plugin's names. By default the cookies are __Host- cookies, which neither can set; two cookies of one name are
// refused and cleared wherever the answer can reach them; the Origin check compares scheme, host and port exactly.

const phone = '+919876543210'

interface SetCookie { name: string, value: string, path: string | undefined, domain: string | undefined, attributes: string[] }

/** The Set-Cookie headers of a response, read the way a browser would. */
function setCookies (res: LightMyRequestResponse): SetCookie[] {
  const raw = res.headers['set-cookie']
  const lines = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []
  return lines.map((line) => {
    const [pair = '', ...parts] = line.split(';').map((part) => part.trim())
    const eq = pair.indexOf('=')
    const attributes = parts.map((a) => a.toLowerCase())
    const attribute = (name: string): string | undefined => parts.find((a) => a.toLowerCase().startsWith(`${name}=`))?.slice(name.length + 1)
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), path: attribute('path'), domain: attribute('domain'), attributes }
  })
}

const isClearing = (c: SetCookie): boolean => c.value === '' && c.attributes.includes('max-age=0') && c.attributes.some((a) => a.startsWith('expires=thu, 01 jan 1970'))

interface CookieApp {
  app: FastifyInstance
  codes: Map<string, string>
  /** Signs `phone` in through the API (no Origin header) and returns the answer of /verify-otp. */
  signIn: (cookie?: string) => Promise<LightMyRequestResponse>
}

/** The plugin in cookie mode behind a proxy (`trustProxy`, so `X-Forwarded-Proto` tells the scheme). */
async function cookieApp (t: Test, kind: StoreKind, options: Partial<OtpLoginOptions> = {}, trustProxy = true): Promise<CookieApp> {
  const codes = new Map<string, string>()
  const app = Fastify({ trustProxy })
  t.teardown(() => app.close())
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET },
    rateLimit: false,
    send: ({ to, code }) => { codes.set(to, code) },
    ...(kind === 'redis' ? { redis: await freshRedis(), codeSecret: CODE_SECRET } : {}),
    cookie: {},
    ...options
  })
  await app.ready()
  const prefix = options.prefix ?? ''
  const signIn = async (cookie?: string): Promise<LightMyRequestResponse> => {
    const headers = { host: 'app.example.com', ...(cookie === undefined ? {} : { cookie }) }
    await app.inject({ method: 'POST', url: `${prefix}/login`, payload: { phone }, headers })
    return await app.inject({ method: 'POST', url: `${prefix}/verify-otp`, payload: { phone, otp: codes.get(phone) ?? '' }, headers })
  }
  return { app, codes, signIn }
}

for (const kind of storeKinds) {
  t.test(`${kind} store: __Host- cookies by default`, async (t) => {
    const { signIn } = await cookieApp(t, kind, { prefix: '/api/auth' })
    const cookies = setCookies(await signIn())
    t.same(cookies.map((c) => c.name).sort(), ['__Host-otp_device', '__Host-otp_refresh'])
    for (const c of cookies) {
      t.equal(c.path, '/', `${c.name}: Path=/, not the prefix (a __Host- cookie must be at /)`)
      t.equal(c.domain, undefined, `${c.name}: host-only`)
      t.ok(c.attributes.includes('secure') && c.attributes.includes('httponly') && c.attributes.includes('samesite=strict'), `${c.name}: Secure, HttpOnly, SameSite=Strict`)
    }
  })

  t.test(`${kind} store: where a __Host- cookie cannot be, the names and path of 0.1`, async (t) => {
    const cases: Array<[string, OtpLoginOptions['cookie'], string[], string, string | undefined]> = [
      ['a domain', { domain: 'example.com' }, ['otp_refresh', 'otp_refresh_device'], '/api/auth', 'example.com'],
      ['secure: false', { secure: false }, ['otp_refresh', 'otp_refresh_device'], '/api/auth', undefined],
      ['a path of its own', { path: '/api' }, ['otp_refresh', 'otp_refresh_device'], '/api', undefined],
      ["path '/' given", { path: '/' }, ['__Host-otp_device', '__Host-otp_refresh'], '/', undefined],
      ['a name of its own, as given, at the prefix', { name: 'sid' }, ['sid', 'sid_device'], '/api/auth', undefined],
      ['a __Host- name of its own, at /', { name: '__Host-sid' }, ['__Host-sid', '__Host-sid_device'], '/', undefined]
    ]
    for (const [name, cookie, names, path, domain] of cases) {
      const { signIn } = await cookieApp(t, kind, { prefix: '/api/auth', cookie })
      const cookies = setCookies(await signIn())
      t.same(cookies.map((c) => c.name).sort(), names, `${name}: names`)
      t.ok(cookies.every((c) => c.path === path && c.domain === domain), `${name}: Path=${path}, Domain=${domain ?? 'none'}`)
    }
  })

  t.test(`${kind} store: the Origin check compares scheme, host and port exactly`, async (t) => {
    const { app } = await cookieApp(t, kind)
    // /refresh with no cookie: 401 OTP_REFRESH_INVALID once past the Origin check, 403 OTP_ORIGIN_NOT_ALLOWED before.
    const code = async (origin: string, host = 'app.example.com', proto: string | null = 'https', on = app): Promise<string> =>
      (await on.inject({ method: 'POST', url: '/refresh', headers: { origin, host, ...(proto === null ? {} : { 'x-forwarded-proto': proto }) } })).json().code
    const passed = 'OTP_REFRESH_INVALID'
    const refused = 'OTP_ORIGIN_NOT_ALLOWED'
    t.equal(await code('https://app.example.com'), passed, 'the same origin')
    t.equal(await code('http://app.example.com'), refused, 'http:// for an https site (the scheme counts)')
    t.equal(await code('http://app.example.com', 'app.example.com', null), passed, 'http:// for an http site (no X-Forwarded-Proto)')
    t.equal(await code('https://app.example.com', 'app.example.com', null), refused, 'https:// for an http site')
    t.equal(await code('https://app.example.com:8443'), refused, 'another port')
    t.equal(await code('https://app.example.com:8443', 'app.example.com:8443'), passed, 'the same port')
    t.equal(await code('https://app.example.com', 'app.example.com:8443'), refused, 'the default port is another port')
    t.equal(await code('https://app.example.com', 'app.example.com:443'), passed, 'a Host with the default port written out')
    for (const origin of [
      'https://app.example.com.evil.net', // merely contains the host
      'https://evil.net/app.example.com',
      'https://evil.net?app.example.com',
      'https://app.example.com@evil.net', // userinfo
      'https://evil.net@app.example.com', // userinfo, however URL reads it: no browser sends one
      'https://app.example.com/', // not as a browser writes it
      'https://app.example.com:443',
      'HTTPS://APP.EXAMPLE.COM',
      'https://sub.app.example.com',
      'null', // an opaque origin (a sandboxed frame, a redirect)
      ''
    ]) t.equal(await code(origin), refused, `refused: ${JSON.stringify(origin)}`)
    // A forwarded scheme that is not http(s) must not make the expected origin 'null' (what URL gives for it).
    t.equal(await code('null', 'app.example.com', 'foo'), refused, "Origin 'null' with a made-up scheme")
    t.equal(await code('https://app.example.com', 'evil.net@app.example.com'), refused, 'a Host with userinfo')

    const direct = (await cookieApp(t, kind, {}, false)).app
    t.equal(await code('https://app.example.com', 'app.example.com', 'https', direct), refused, 'without trustProxy, X-Forwarded-Proto is not believed')
    t.equal(await code('http://app.example.com', 'app.example.com', 'https', direct), passed)

    const listed = (await cookieApp(t, kind, { allowedOrigins: ['https://app.example.com', 'http://localhost:3000'] })).app
    t.equal(await code('https://app.example.com', 'api.example.com', 'https', listed), passed, 'allowedOrigins: a listed origin')
    t.equal(await code('http://localhost:3000', 'api.example.com', 'https', listed), passed, 'allowedOrigins: another listed origin')
    for (const origin of ['http://app.example.com', 'https://app.example.com:8443', 'https://app.example.com.evil.net', 'https://api.example.com', 'http://localhost', 'null']) {
      t.equal(await code(origin, 'api.example.com', 'https', listed), refused, `allowedOrigins: refused ${origin}`)
    }
  })

  t.test(`${kind} store: two refresh cookies of a __Host- name are refused and cleared`, async (t) => {
    const { app, signIn } = await cookieApp(t, kind)
    const real = setCookies(await signIn()).find((c) => c.name === '__Host-otp_refresh')?.value ?? ''
    const res = await app.inject({
      method: 'POST', url: '/refresh', headers: { host: 'app.example.com', cookie: `__Host-otp_refresh=planted; __Host-otp_refresh=${real}` }
    })
    t.equal(res.json().code, 'OTP_REFRESH_INVALID', 'neither is taken')
    const cleared = setCookies(res)
    // A __Host- cookie can only be host-only at /: one clearing header is all a browser would take.
    t.same(cleared.map((c) => [c.name, c.path, c.domain]), [['__Host-otp_refresh', '/', undefined]])
    t.ok(cleared.every((c) => isClearing(c) && c.attributes.includes('secure')), 'an expired, Secure cookie')
    const alone = await app.inject({ method: 'POST', url: '/refresh', headers: { host: 'app.example.com', cookie: `__Host-otp_refresh=${real}` } })
    t.equal(alone.statusCode, 200, 'the session itself was not ended: the real cookie alone still works')
  })

  t.test(`${kind} store: without __Host-, every copy the answer can reach is cleared`, async (t) => {
    const { app, signIn } = await cookieApp(t, kind, { prefix: '/api/auth', cookie: { path: '/api/auth' } })
    const real = setCookies(await signIn()).find((c) => c.name === 'otp_refresh')?.value ?? ''
    // A sibling subdomain planted its own with Domain=example.com and a longer path, so that it comes first.
    const res = await app.inject({
      method: 'POST', url: '/api/auth/refresh?x=1', headers: { host: 'app.example.com', cookie: `otp_refresh=planted; otp_refresh=${real}` }
    })
    t.equal(res.json().code, 'OTP_REFRESH_INVALID')
    const cleared = setCookies(res)
    t.ok(cleared.every((c) => c.name === 'otp_refresh' && isClearing(c) && c.attributes.includes('secure')), 'only the refresh cookie, every header a clearing one')
    const places = cleared.map((c) => `${c.domain ?? '(host-only)'} ${c.path ?? ''}`).sort()
    const paths = ['/', '/api', '/api/', '/api/auth', '/api/auth/', '/api/auth/refresh']
    const expected = ['(host-only)', 'app.example.com', 'example.com'].flatMap((domain) => paths.map((path) => `${domain} ${path}`)).sort()
    t.same(places, expected, 'each path the request falls under, host-only and for the host and each parent domain')

    const deep = await app.inject({
      method: 'POST', url: '/api/auth/refresh', headers: { host: `${'a.'.repeat(100)}example.com`, cookie: 'otp_refresh=1; otp_refresh=2' }
    })
    const domains = new Set(setCookies(deep).map((c) => c.domain))
    t.same([...domains].sort(), ['a.a.a.a.a.example.com', 'a.a.a.a.example.com', 'a.a.a.example.com', 'a.a.example.com', 'a.example.com', 'example.com', undefined].sort(),
      'a long made-up Host: host-only and the six shortest parents only, not a header per label')
    t.equal(setCookies(deep).length, 7 * paths.length)
  })

  t.test(`${kind} store: only spaces and tabs around a cookie's name and value are stripped, not U+00A0`, async (t) => {
    const { app, signIn } = await cookieApp(t, kind)
    const real = setCookies(await signIn()).find((c) => c.name === '__Host-otp_refresh')?.value ?? ''
    const refresh = async (cookie: string) => await app.inject({ method: 'POST', url: '/refresh', headers: { host: 'app.example.com', cookie } })
    // To a browser `\u00a0__Host-otp_refresh` is an unprefixed name, which a sibling subdomain can set.
    const lead = await refresh(`\u00a0__Host-otp_refresh=${real}`)
    t.equal(lead.json().code, 'OTP_REFRESH_INVALID', 'a U+00A0 before the name: another cookie, not read')
    const trail = await refresh(`__Host-otp_refresh\u00a0=${real}`)
    t.equal(trail.json().code, 'OTP_REFRESH_INVALID', 'a U+00A0 after the name: another cookie, not read')
    const value = await refresh(`__Host-otp_refresh=\u00a0${real}`)
    t.equal(value.json().code, 'OTP_REFRESH_INVALID', 'a U+00A0 in the value is part of it')
    const spaced = await refresh(`a=1;\t __Host-otp_refresh \t= \t${real} \t;b=2`)
    t.equal(spaced.statusCode, 200, 'spaces and tabs around the name and the value are stripped, as a browser does')
  })

  t.test(`${kind} store: two device cookies at /login: the device is unknown, both are cleared`, async (t) => {
    const { app, signIn } = await cookieApp(t, kind, { maxSends: 2, resendInterval: 0 })
    const device = setCookies(await signIn()).find((c) => c.name === '__Host-otp_device')?.value ?? ''
    const login = async (cookie?: string) => await app.inject({
      method: 'POST', url: '/login', payload: { phone }, headers: { host: 'app.example.com', ...(cookie === undefined ? {} : { cookie }) }
    })
    for (let i = 0; i < 3; i++) await login()
    t.equal((await login()).json().code, 'OTP_LOCKED', 'a stranger locked the number out')
    t.equal((await login(`__Host-otp_device=${device}`)).statusCode, 200, 'the trusted device is past it')
    const twice = await login(`__Host-otp_device=${device}; __Host-otp_device=${device}`)
    t.equal(twice.json().code, 'OTP_LOCKED', 'two device cookies: neither counts (a planted one cannot be told from ours)')
    t.same(setCookies(twice).map((c) => [c.name, c.path, c.domain, isClearing(c)]), [['__Host-otp_device', '/', undefined, true]], 'and are cleared')
  })

  t.test(`${kind} store: a sign-in with two device cookies clears them and sets a new one`, async (t) => {
    const { signIn } = await cookieApp(t, kind)
    const device = setCookies(await signIn()).find((c) => c.name === '__Host-otp_device')?.value ?? ''
    const verified = await signIn(`__Host-otp_device=${device}; __Host-otp_device=planted`)
    t.equal(verified.statusCode, 200)
    const deviceCookies = setCookies(verified).filter((c) => c.name === '__Host-otp_device')
    t.equal(deviceCookies.length, 1, 'one header for the device cookie: the new one took the clearing one\'s place')
    const [next] = deviceCookies
    t.ok(next !== undefined && next.value !== '' && next.value !== device && next.value !== 'planted' && !isClearing(next), 'a new device token')
  })
}

t.test('registration: __Host- names need Secure, no Domain and Path=/; allowedOrigins are exact origins', async (t) => {
  const base = { jwt: { secret: JWT_SECRET }, send: () => {} }
  await t.rejects(readyWith({ ...base, cookie: { name: '__Host-sid', domain: 'example.com' } }), /option "cookie.domain" must be left out/)
  await t.rejects(readyWith({ ...base, cookie: { name: '__Host-sid', path: '/api' } }), /option "cookie.path" must be '\/'/)
  await t.rejects(readyWith({ ...base, cookie: { name: '__host-sid', secure: false } }), /option "cookie.secure" must be true/)
  await t.rejects(readyWith({ ...base, cookie: { name: '__Secure-sid', secure: false } }), /option "cookie.secure" must be true/)
  await t.resolves(readyWith({ ...base, cookie: { name: '__Secure-sid', domain: 'example.com', path: '/api' } }))
  for (const origin of ['https://a.example/', 'https://a.example/path', 'https://user@a.example', 'HTTPS://A.EXAMPLE', 'https://a.example:443',
    'http://a.example:80', 'ftp://a.example', 'null', 'https://a.example?x', 'https://bücher.example', 'a.example']) {
    await t.rejects(readyWith({ ...base, cookie: {}, allowedOrigins: [origin] }), /option "allowedOrigins" must hold origins as a browser writes them/, `refused: ${origin}`)
  }
  for (const origin of ['https://a.example', 'http://localhost:3000', 'https://[::1]:8443', 'http://127.0.0.1:3000', 'https://xn--bcher-kva.example']) {
    await t.resolves(readyWith({ ...base, cookie: {}, allowedOrigins: [origin] }), `accepted: ${origin}`)
  }
  t.match(ensureDefaults({ send: () => {}, cookie: {}, prefix: '/auth' }).cookie, { refreshName: '__Host-otp_refresh', deviceName: '__Host-otp_device', path: '/', secure: true })
  t.match(ensureDefaults({ send: () => {}, cookie: { domain: 'example.com' }, prefix: '/auth' }).cookie, { refreshName: 'otp_refresh', deviceName: 'otp_refresh_device', path: '/auth' })
  t.match(ensureDefaults({ send: () => {}, cookie: { secure: false } }).cookie, { refreshName: 'otp_refresh', path: '/' })
})
