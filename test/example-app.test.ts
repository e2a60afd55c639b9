import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { SendArgs } from '../lib/index.js'
import { otpErrorCodes } from '../lib/errors.js'
import { restoreEnv, sharedRedis } from './helpers/app.js'
import { STEP_MS, codeAt } from './helpers/totp.js'

// The example app as `npm start` builds it (it imports the package by name, so dist/ must be built).
t.test('the example app: page, login, verify, /me, in cookie mode', async (t) => {
  const codes: string[] = []
  const examplePath = '../example-app/app.mjs' // a plain .mjs file: no types to resolve
  const { buildExampleApp } = await import(examplePath) as {
    buildExampleApp: (o: { send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
  }
  const app = await buildExampleApp({ send: ({ code }) => { codes.push(code) }, logger: false })
  t.teardown(() => app.close())

  const page = await app.inject({ url: '/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  for (const route of ['/api/auth/verify-otp', '/api/auth/refresh', '/api/auth/logout', '/api/auth/sessions']) {
    t.match(page.body, route, `the page uses ${route}`)
  }
  t.notMatch(page.body, /(session|local)Storage\.setItem/, 'the page keeps no token in web storage')
  // Only the page's own inline script and style run, and it talks to nothing but this origin.
  const policy = String(page.headers['content-security-policy'])
  t.match(policy, /default-src 'none'/)
  t.match(policy, /script-src 'sha256-[A-Za-z0-9+/]+=*' http:\/\/localhost:80\/vendor\/simplewebauthn-browser\.js(;|$)/,
    'its inline script, and the WebAuthn script by its exact URL')
  // @simplewebauthn/browser comes from the installed package, not a CDN.
  t.match(page.body, '<script src="/vendor/simplewebauthn-browser.js"></script>')
  const webauthnScript = await app.inject({ url: '/vendor/simplewebauthn-browser.js' })
  t.equal(webauthnScript.statusCode, 200)
  t.match(webauthnScript.headers['content-type'], /^text\/javascript/)
  t.match(webauthnScript.body, /^\/\* \[@simplewebauthn\/browser@13\./, 'the package\'s own bundle')
  t.match(policy, /connect-src 'self'/)

  const phone = '+919876543210'
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })).statusCode, 200)
  const verified = await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codes[0] } })
  t.equal(verified.statusCode, 200)
  t.notOk('refresh' in verified.json(), 'cookie mode: no refresh token in the body')
  t.notOk('deviceToken' in verified.json(), 'nor a device token')
  const refreshCookie = verified.cookies.find((c) => c.name === '__Host-otp_refresh')
  t.match(refreshCookie, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' }, 'the refresh cookie (a __Host- cookie, at /)')
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${verified.json().access}` } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().user.phone, phone)
  t.equal((await app.inject({ url: '/me' })).statusCode, 401)

  // /refresh with no body: the cookie in, a new access token and a rotated cookie out.
  const refreshed = await app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { '__Host-otp_refresh': refreshCookie?.value ?? '' } })
  t.equal(refreshed.statusCode, 200)
  t.ok(refreshed.json().access, 'a new access token')
  t.not(refreshed.cookies.find((c) => c.name === '__Host-otp_refresh')?.value, refreshCookie?.value, 'the cookie is rotated')
  const foreign = await app.inject({
    method: 'POST', url: '/api/auth/refresh', headers: { origin: 'https://evil.example' }, cookies: { '__Host-otp_refresh': refreshCookie?.value ?? '' }
  })
  t.equal(foreign.statusCode, 403)
  t.equal(foreign.json().code, 'OTP_ORIGIN_NOT_ALLOWED')
})

t.test('the example app on Redis when REDIS_URL is set', async (t) => {
  const server = await sharedRedis()
  const secret = process.env.OTP_CODE_SECRET
  process.env.OTP_CODE_SECRET = 'example-code-secret-example-code-secret'
  t.teardown(() => { restoreEnv('OTP_CODE_SECRET', secret) })
  const codes: string[] = []
  const examplePath = '../example-app/app.mjs'
  const { buildExampleApp } = await import(examplePath) as {
    buildExampleApp: (o: { redisUrl: string, send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
  }
  const app = await buildExampleApp({ redisUrl: `redis://127.0.0.1:${server.port}`, send: ({ code }) => { codes.push(code) }, logger: false })
  t.teardown(() => app.close())
  await app.ready()

  const phone = '+919876543222'
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })).statusCode, 200)
  const redis = await server.client()
  t.ok((await redis.keys(`otp:{${phone}}:*`)).length > 0, 'the code lives in Redis')
  const verified = await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codes[0] } })
  t.equal(verified.statusCode, 200)

  // GET /api/account reads the authenticator through app.otpCredentials, from the store the plugin made on Redis.
  const authorization = `Bearer ${String(verified.json().access)}`
  const enabled = async (): Promise<unknown> => (await app.inject({ url: '/api/account', headers: { authorization } })).json()
  t.same(await enabled(), { authenticator: { enabled: false } }, 'off at first')
  const { secret: totpSecret } = (await app.inject({ method: 'POST', url: '/api/auth/totp/setup', headers: { authorization } })).json()
  const confirmed = await app.inject({
    method: 'POST', url: '/api/auth/totp/confirm', headers: { authorization }, payload: { otp: codeAt(totpSecret, Math.floor(Date.now() / STEP_MS)) }
  })
  t.equal(confirmed.statusCode, 200)
  t.same(await redis.keys('otp:{user:*}:totp'), [`otp:{user:${phone}}:totp`], 'the authenticator lives in Redis')
  t.same(await enabled(), { authenticator: { enabled: true } }, 'on once confirmed')
})

t.test('the example app refuses Redis without OTP_CODE_SECRET', async (t) => {
  const secret = process.env.OTP_CODE_SECRET
  delete process.env.OTP_CODE_SECRET
  t.teardown(() => { restoreEnv('OTP_CODE_SECRET', secret) })
  const examplePath = '../example-app/app.mjs'
  const { buildExampleApp } = await import(examplePath) as { buildExampleApp: (o: object) => Promise<FastifyInstance> }
  await t.rejects(buildExampleApp({ redisUrl: 'redis://127.0.0.1:1', send: () => {}, logger: false }), /OTP_CODE_SECRET/)
})

t.test('the page has a sentence for every error code the plugin answers with', async (t) => {
  const page = readFileSync(join(__dirname, '..', 'example-app', 'index.html'), 'utf8')
  const codes = otpErrorCodes()
  t.ok(codes.length > 20, 'the codes are known')
  for (const code of codes) t.match(page, new RegExp(`\\b${code}: '[^']+'`), code)
})
