import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t from 'tap'
import otpLogin from '../lib/index.js'
import { VerifiedTokens, directVerifiable, keptTokens } from '../lib/fast-paths/verified-tokens.js'
import { ownJwtOptions } from '../lib/verify-token.js'
import { JWT_SECRET, claims } from './helpers/app.js'

// app.authenticate checks a token with the verifier of the plugin's own @fastify/jwt registration and keeps the
// tokens it accepted (by their text) for the next request: these hold it to what request.jwtVerify() decides.
const phone = '+919876543210'

/** An app with the plugin on the MemoryStore, `setup` run before it is ready, and a signed-in user's access token. */
async function signedIn (
  t: { teardown: (fn: () => unknown) => void }, options = {}, setup: (app: FastifyInstance) => void = () => {}
): Promise<{ app: FastifyInstance, access: string }> {
  const codes: string[] = []
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, rateLimit: false, send: ({ code }) => { codes.push(code) }, ...options })
  app.get('/me', { onRequest: [app.authenticate] }, async (request) => request.user)
  setup(app)
  await app.ready()
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const access = (await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: codes.at(-1) } })).json().access as string
  return { app, access }
}

t.test('a token accepted once is refused once its exp has passed', async (t) => {
  const { app, access } = await signedIn(t, { accessTokenTtl: 1 })
  const me = async (): Promise<{ statusCode: number, code?: string }> => {
    const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })
    return { statusCode: res.statusCode, code: res.statusCode === 200 ? undefined : res.json().code }
  }
  t.same(await me(), { statusCode: 200, code: undefined }, 'accepted (and kept)')
  t.same(await me(), { statusCode: 200, code: undefined }, 'accepted again')
  const exp = claims(access).exp as number
  await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50))
  t.same(await me(), { statusCode: 401, code: 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED' }, 'expired: the same answer as without the cache')
})

t.test('a token one character away from an accepted one is refused', async (t) => {
  const { app, access } = await signedIn(t)
  const me = async (token: string): Promise<number> => (await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })).statusCode
  t.equal(await me(access), 200)
  // A character inside the signature: the last one also carries padding bits, so some changes to it decode to
  // the same bytes (fast-jwt accepts those, as before; they are the same token).
  const at = access.length - 10
  const other = access[at] === 'A' ? 'B' : 'A'
  t.equal(await me(access.slice(0, at) + other + access.slice(at + 1)), 401, 'another signature')
  const [header = '', payload = '', signature = ''] = access.split('.')
  const changed = Buffer.from(JSON.stringify({ ...claims(access), sub: 'someone-else' })).toString('base64url')
  t.not(changed, payload)
  t.equal(await me(`${header}.${changed}.${signature}`), 401, 'other claims under the same signature')
  t.equal(await me(access), 200, 'the real one still works')
})

t.test('each request gets its own request.user: a handler that changes it changes no other request', async (t) => {
  const { app, access } = await signedIn(t, {}, (app) => {
    app.get('/scribble', { onRequest: [app.authenticate] }, async (request) => {
      const seen = { ...request.user }
      Object.assign(request.user, { sub: 'scribbled', extra: true })
      return seen
    })
  })
  const first = (await app.inject({ url: '/scribble', headers: { authorization: `Bearer ${access}` } })).json()
  const second = (await app.inject({ url: '/scribble', headers: { authorization: `Bearer ${access}` } })).json()
  t.equal(first.sub, phone)
  t.equal(second.sub, phone)
  t.equal(second.extra, undefined)
})

t.test('with the plugin\'s own registration, a valid token skips request.jwtVerify(); anything else goes through it', async (t) => {
  let calls = 0
  const { app, access } = await signedIn(t, {}, (app) => {
    app.addHook('onRequest', async (request: FastifyRequest) => {
      const original = request.jwtVerify.bind(request) as (...args: unknown[]) => Promise<unknown>
      request.jwtVerify = (async (...args: unknown[]) => { calls++; return await original(...args) }) as typeof request.jwtVerify
    })
  })
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })).statusCode, 200)
  t.equal(calls, 0, 'the registration\'s verifier, directly')
  const bad = await app.inject({ url: '/me', headers: { authorization: `Bearer ${access}x` } })
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')
  // (More than one call: its promise form calls itself again with a callback.)
  t.ok(calls > 0, 'a refusal comes from request.jwtVerify(), with its usual code')
})

t.test('VerifiedTokens: bounded, time-bound, and off with options that move the time bounds', async (t) => {
  let now = 1_800_000_000_000
  const clock = (): number => now
  const tokens = VerifiedTokens.from({ cache: 2 }, clock)
  t.ok(tokens)
  const exp = now / 1000 + 60
  for (let i = 0; i < 5; i++) tokens?.add(`token-${i}`, { sub: String(i), exp })
  t.equal(tokens?.size, 2, 'never more than its size')
  t.same(tokens?.get('token-4'), { sub: '4', exp }, 'the newest kept')
  t.equal(tokens?.get('token-0'), undefined, 'the oldest gone')
  tokens?.add('expired', { sub: 'x', exp: now / 1000 - 1 })
  t.equal(tokens?.get('expired'), undefined, 'past its exp: not served')
  t.ok(tokens?.get('token-4'), 'kept until its exp')
  now += 60_000
  t.equal(tokens?.get('token-4'), undefined, 'not at its exp')
  t.equal(VerifiedTokens.from({ cache: true })?.size, 0, 'cache: true is on')
  const short = VerifiedTokens.from({ cache: true, cacheTTL: 20 }, clock)
  short?.add('short', { sub: 'x', exp: now / 1000 + 60 })
  now += 19
  t.ok(short?.get('short'), 'kept')
  now += 1
  t.equal(short?.get('short'), undefined, 'not past verify.cacheTTL')
  for (const options of [{}, { cache: false }, { cache: 0 }, { cache: true, maxAge: 60_000 }, { cache: true, maxAge: 0 }, { cache: true, clockTolerance: 5 }, { cache: true, clockTimestamp: 1 }, { cache: true, ignoreExpiration: true }]) {
    t.equal(VerifiedTokens.from(options), undefined, JSON.stringify(options))
  }
})

t.test('directVerifiable: only a fixed secret and plain options', async (t) => {
  t.equal(directVerifiable({ secret: 's' }), true)
  t.equal(directVerifiable({ secret: 's', sign: { algorithm: 'HS256' }, verify: { cache: true } }), true)
  t.equal(directVerifiable({ secret: () => 's' } as never), false, 'a secret callback')
  t.equal(directVerifiable({ secret: Buffer.from('s') }), true, 'a Buffer')
  t.equal(directVerifiable({ secret: { private: 'a', public: 'b' } }), true, 'a key pair')
  t.equal(directVerifiable({ secret: { private: 'a', public: async () => 'b' } } as never), false, 'a key pair with a callback')
  t.equal(directVerifiable({ secret: 's', formatUser: (u: unknown) => u } as never), false, 'formatUser')
  t.equal(directVerifiable({ secret: 's', trusted: () => true } as never), false, 'trusted')
  t.equal(directVerifiable({ secret: 's', decoratorName: 'account' }), false, 'another decorator')
  t.equal(directVerifiable({ secret: 's', decode: { complete: true } }), false, 'decoder options')
})

t.test('a key callback in { private, public }: @fastify/jwt calls it, as before', async (t) => {
  let calls = 0
  const publicKey = async (): Promise<string> => { calls++; return JWT_SECRET }
  const { app, access } = await signedIn(t, { jwt: { secret: { private: JWT_SECRET, public: publicKey }, sign: { algorithm: 'HS256' } } })
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })
  t.equal(me.statusCode, 200, 'a valid token is accepted')
  t.ok(calls > 0, 'through the key callback')
  const forged = await app.inject({ url: '/me', headers: { authorization: `Bearer ${access.slice(0, -2)}xx` } })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')
})

t.test('the plugin\'s own registration keeps an accepted token: its verifier runs once for it, and per request without verify.cache', async (t) => {
  for (const [options, runs] of [[{}, 1], [{ jwt: { secret: JWT_SECRET, verify: { cache: false } } }, 3]] as const) {
    let verified = 0
    const { app, access } = await signedIn(t, options)
    const verify = app.jwt.verify.bind(app.jwt) as (token: string) => unknown
    app.jwt.verify = ((token: string) => { verified++; return verify(token) }) as typeof app.jwt.verify
    for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })).statusCode, 200)
    t.equal(verified, runs, JSON.stringify(options))
  }
})

t.test('fast-jwt\'s own cache is off where app.authenticate keeps tokens, and on (or as given) where it does not', async (t) => {
  const cacheOf = (jwt: Parameters<typeof ownJwtOptions>[0]): unknown => ownJwtOptions(jwt, '900s').verify?.cache
  t.equal(cacheOf({ secret: JWT_SECRET }), false, 'kept by app.authenticate')
  t.equal(cacheOf({ secret: JWT_SECRET, verify: { cache: 5000 } }), false, 'kept by app.authenticate, 5000 of them')
  t.equal(keptTokens({ secret: JWT_SECRET, verify: { cache: 5000 } }) !== undefined, true)
  t.equal(cacheOf({ secret: JWT_SECRET, verify: { cache: false } }), false, 'off as asked')
  t.equal(cacheOf({ secret: JWT_SECRET, verify: { maxAge: 60_000 } }), true, 'maxAge: fast-jwt keeps them')
  t.equal(cacheOf({ secret: JWT_SECRET, formatUser: (user: unknown) => user } as never), true, 'not verified directly')
  t.equal(cacheOf({ secret: { private: 'a', public: 'b' } }), true, 'a key pair whose algorithm is not known here')
})
