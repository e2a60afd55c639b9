import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp, readyWith, sharedRedis } from './helpers/app.js'
import { buildTotpApp, codeAt } from './helpers/totp.js'

const storeTimeout = 300
// Generous: the deadline itself is 300 ms, the rest is a busy two-core machine.
const bound = storeTimeout + 1500

const [a, b, c] = ['+919876543210', '+919876543211', '+919876543212']

interface Timed { name: string, res: LightMyRequestResponse | undefined, ms: number }

/** The answer to `request` and how long it took; `res` undefined if none came within twice the bound. */
async function timed (name: string, request: Promise<LightMyRequestResponse>): Promise<Timed> {
  const started = performance.now()
  const res = await Promise.race([request, sleep(2 * bound).then(() => undefined)])
  return { name, res, ms: performance.now() - started }
}

/** Freezes the file's redis-server for the length of `during`, and always lets it run again. */
async function frozen<T> (during: () => Promise<T>): Promise<T> {
  const server = await sharedRedis()
  server.pause()
  try {
    return await during()
  } finally {
    server.resume()
  }
}

function assertAllTimedOut (t: Test, results: Timed[]): void {
  for (const { name, res, ms } of results) {
    t.equal(res?.statusCode, 503, `${name}: 503`)
    t.equal(res?.json().code, 'OTP_STORE_UNAVAILABLE', `${name}: OTP_STORE_UNAVAILABLE`)
    t.ok(ms < bound, `${name}: answered in ${Math.round(ms)} ms, under ${bound}`)
    t.ok(ms >= storeTimeout - 50, `${name}: the deadline answered (${Math.round(ms)} ms), not something quicker`)
  }
}

t.teardown(async () => { (await sharedRedis()).resume() })

t.test('a frozen Redis: every route answers 503 within storeTimeout, then works again; a timed-out code is never accepted twice', async (t) => {
  const { app, login, verify, codeFor, verifyTotp, enable, clock, step } = await buildTotpApp(t, 'redis', { storeTimeout })
  const { secret } = await enable(a)
  await login(a)
  const signedIn = (await verify(a, codeFor(a))).json()
  await login(b)
  const codeB = codeFor(b)
  const bearer = { authorization: `Bearer ${signedIn.access as string}` }

  const results = await frozen(async () => await Promise.all([
    timed('POST /login', login(c)),
    timed('POST /verify-otp with the right code', verify(b, codeB)),
    timed('POST /refresh', app.inject({ method: 'POST', url: '/refresh', payload: { refresh: signedIn.refresh } })),
    timed('POST /logout', app.inject({ method: 'POST', url: '/logout', headers: bearer })),
    timed('GET /me (app.authenticate)', app.inject({ url: '/me', headers: bearer })),
    timed('GET /sessions', app.inject({ url: '/sessions', headers: bearer })),
    timed('DELETE /sessions/:id', app.inject({ method: 'DELETE', url: `/sessions/${'A'.repeat(22)}`, headers: bearer })),
    timed('POST /verify-totp', verifyTotp(a, codeAt(secret, step())))
  ]))
  assertAllTimedOut(t, results)

  // Redis ran the commands it was sent when it woke; the plugin had already answered 503 for them.
  const again = [await verify(b, codeB), await verify(b, codeB)]
  t.ok(again.filter((res) => res.statusCode === 200).length <= 1, 'the code whose verify timed out gives at most one token')
  t.ok(again.every((res) => res.statusCode === 200 || res.statusCode === 401), `then 200 or 401 (${again.map((res) => res.statusCode).join(', ')})`)

  t.equal((await login(c)).statusCode, 200, '/login works again')
  const fresh = await verify(c, codeFor(c))
  t.equal(fresh.statusCode, 200, '/verify-otp works again')
  const refreshed = await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: fresh.json().refresh } })
  t.equal(refreshed.statusCode, 200, '/refresh works again')
  const freshBearer = { authorization: `Bearer ${refreshed.json().access as string}` }
  t.equal((await app.inject({ url: '/me', headers: freshBearer })).statusCode, 200, 'app.authenticate works again')
  t.equal((await app.inject({ url: '/sessions', headers: freshBearer })).statusCode, 200, 'GET /sessions works again')
  t.equal((await app.inject({ method: 'POST', url: '/logout', headers: freshBearer })).statusCode, 204, '/logout works again')
  clock.now += 30_000
  t.equal((await verifyTotp(a, codeAt(secret, step()))).statusCode, 200, '/verify-totp works again')
})

t.test('a frozen Redis with the route rate limiter on: 503 within storeTimeout, never two tokens for one code', async (t) => {
  const { app, login, verify, codeFor } = await buildApp(t, 'redis', { storeTimeout, rateLimit: {}, resendInterval: 0 })
  await login(a)
  const code = codeFor(a)
  const signedIn = (await verify(a, code)).json()
  await login(b)
  const codeB = codeFor(b)

  const results = await frozen(async () => await Promise.all([
    timed('POST /login', login(c)),
    timed('POST /verify-otp with the right code', verify(b, codeB)),
    timed('POST /refresh', app.inject({ method: 'POST', url: '/refresh', payload: { refresh: signedIn.refresh } }))
  ]))
  assertAllTimedOut(t, results)

  const again = [await verify(b, codeB), await verify(b, codeB)]
  t.ok(again.filter((res) => res.statusCode === 200).length <= 1, 'the code whose verify timed out gives at most one token')
  t.equal((await login(c)).statusCode, 200, '/login works again, rate limiter included')
})

t.test('storeTimeout is validated', async (t) => {
  for (const bad of [0, 49, 60_001, 1.5, '2000', null]) {
    await t.rejects(readyWith({ send: () => {}, jwt: { secret: 'x'.repeat(32) }, storeTimeout: bad }), /option "storeTimeout" must be an integer from 50 to 60000/, String(bad))
  }
  await readyWith({ send: () => {}, jwt: { secret: 'x'.repeat(32) }, storeTimeout: 50 })
})
