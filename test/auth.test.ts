import { createHmac } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import Fastify from 'fastify'
import t from 'tap'
import otpLogin from '../lib/index.js'
import { JWT_SECRET, buildApp } from './helpers/app.js'

const phone = '+919876543210'
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = (): number => Math.floor(Date.now() / 1000)

function hs256 (payload: Record<string, unknown>, secret = JWT_SECRET): string {
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

t.test('app.authenticate refuses bad tokens with 401 and @fastify/jwt codes', async (t) => {
  const { app, login, verify, codeFor } = await buildApp(t, 'memory')
  await login(phone)
  const good = (await verify(phone, codeFor(phone))).json().access as string
  const me = async (authorization?: string) =>
    await app.inject({ url: '/me', headers: authorization === undefined ? {} : { authorization } })

  t.equal((await me(`Bearer ${good}`)).statusCode, 200, 'the real token works')
  t.equal((await me(hs256({ sub: 'x', iat: now(), exp: now() + 60 }))).statusCode, 401, 'no Bearer scheme')

  const missing = await me()
  t.equal(missing.statusCode, 401)
  t.equal(missing.json().code, 'FST_JWT_NO_AUTHORIZATION_IN_HEADER')

  const [header, , signature] = good.split('.')
  const tampered = await me(`Bearer ${header}.${b64({ sub: 'admin', phone, iat: now(), exp: now() + 900 })}.${signature}`)
  t.equal(tampered.statusCode, 401, 'tampered payload')
  t.equal(tampered.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')

  const expired = await me(`Bearer ${hs256({ sub: phone, phone, iat: now() - 1000, exp: now() - 100 })}`)
  t.equal(expired.statusCode, 401, 'expired')
  t.equal(expired.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED')

  const otherKey = await me(`Bearer ${hs256({ sub: phone, iat: now(), exp: now() + 60 }, 'another-secret-another-secret-123')}`)
  t.equal(otherKey.statusCode, 401, 'signed with another key')

  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: phone, phone, iat: now(), exp: now() + 900 })}.`
  const unsigned = await me(`Bearer ${none}`)
  t.equal(unsigned.statusCode, 401, 'alg: none')

  t.equal((await me('Bearer not.a.jwt')).statusCode, 401, 'garbage')
})

t.test('a token the host signed with the same key for something else is refused', async (t) => {
  const { app } = await buildApp(t, 'memory')
  const foreign = app.jwt.sign({ sub: 'someone', purpose: 'email-verification' })
  const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${foreign}` } })
  t.equal(res.statusCode, 401, 'no session: not one of ours')
  t.equal(res.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED')
  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${foreign}` } })
  t.equal(logout.statusCode, 401, 'nor can it log out')

  const stateless = await buildApp(t, 'memory', { refreshTokenTtl: false })
  const token = stateless.app.jwt.sign({ sub: 'someone' })
  const accepted = await stateless.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(accepted.statusCode, 200, 'without sessions, any token with a valid signature passes (documented)')
})

t.test('a host that registered @fastify/jwt itself: its instance signs and verifies', async (t) => {
  const codes: string[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyJwt, { secret: 'host-secret-host-secret-host-secret' })
  await app.register(otpLogin, { send: ({ code }) => { codes.push(code) }, rateLimit: false, accessTokenTtl: 60 })
  app.get('/me', { onRequest: [app.authenticate] }, async (request) => {
    const user = request.user
    const phoneClaim: string | undefined = user.phone // request.user is typed
    return { sub: user.sub, phone: phoneClaim }
  })
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const res = await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: codes[0] } })
  t.equal(res.json().expiresIn, 60)
  const token = res.json().access as string
  const payload = app.jwt.verify<Record<string, unknown>>(token)
  t.same(Object.keys(payload).sort(), ['amr', 'auth_time', 'exp', 'iat', 'jti', 'phone', 'sid', 'sub'])
  t.match(payload, { sub: phone, phone })
  t.equal(Number(payload.exp) - Number(payload.iat), 60)
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.same(me.json(), { sub: phone, phone })
})

t.test('without @fastify/jwt and without jwt.secret, startup fails with a clear message', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(otpLogin, { send: () => {} })
  await t.rejects(async () => { await app.ready() }, /jwt\.secret/)
})

t.test('the prefix option puts the routes under it; decorators stay visible to the host', async (t) => {
  const { app } = await buildApp(t, 'memory', { prefix: '/api/auth' })
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/login', payload: { phone } })).statusCode, 404)
  t.equal(typeof app.authenticate, 'function')
  t.equal(typeof app.jwt.sign, 'function')
})
