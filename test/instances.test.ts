import t from 'tap'
import type { OtpLoginOptions } from '../lib/index.js'
import { buildApp, CODE_SECRET, sharedRedis, wrongCode, type TestApp } from './helpers/app.js'

const phone = '+919876543210'

interface Tap { teardown: (fn: () => unknown) => void }

/** Two app instances, each with its own client of one Redis, as two processes behind a load balancer would be. */
async function twoInstances (t: Tap, options: Partial<OtpLoginOptions> = {}): Promise<[TestApp, TestApp]> {
  const server = await sharedRedis()
  await (await server.client()).flushall()
  const instance = async (codeSecret = CODE_SECRET): Promise<TestApp> =>
    await buildApp(t, 'memory', { redis: await server.client(), codeSecret, ...options })
  return [await instance(), await instance()]
}

t.test('a code sent by one instance is accepted by the other, once, and its token works on both', async (t) => {
  const [a, b] = await twoInstances(t)
  t.equal((await a.login(phone)).statusCode, 200)
  t.equal(b.sent.length, 0, 'B sent nothing')
  const verified = await b.verify(phone, a.codeFor(phone))
  t.equal(verified.statusCode, 200)
  t.equal((await a.verify(phone, a.codeFor(phone))).statusCode, 401, 'no replay on A')
  t.equal((await b.verify(phone, a.codeFor(phone))).statusCode, 401, 'no replay on B')
  for (const { app } of [a, b]) {
    const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${verified.json().access}` } })
    t.equal(me.statusCode, 200)
  }
})

t.test('50 parallel verifies of one code, split over both instances: exactly one token', async (t) => {
  const [a, b] = await twoInstances(t)
  await a.login(phone)
  const code = a.codeFor(phone)
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).verify(phone, code)))
  t.equal(results.filter((r) => r.statusCode === 200).length, 1)
  t.equal(results.filter((r) => r.statusCode === 401).length, 49)
})

t.test('maxSends counts sends through both instances, in series and in parallel', async (t) => {
  const [a, b] = await twoInstances(t, { maxSends: 3, resendInterval: 0 })
  t.equal((await a.login(phone)).statusCode, 200)
  t.equal((await b.login(phone)).statusCode, 200)
  t.equal((await a.login(phone)).statusCode, 200)
  for (const instance of [b, a]) {
    const refused = await instance.login(phone)
    t.equal(refused.statusCode, 429)
    t.equal(refused.json().code, 'OTP_LOCKED')
  }
  t.equal((await b.verify(phone, a.codeFor(phone))).statusCode, 200, 'the last code, sent by A, works on B')

  const other = '+919876543211'
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).login(other)))
  t.equal(results.filter((r) => r.statusCode === 200).length, 3, 'parallel: never more than maxSends')
  t.equal(a.sent.filter((s) => s.to === other).length + b.sent.filter((s) => s.to === other).length, 3, 'three codes went out')
})

t.test('the resend interval holds across instances', async (t) => {
  const [a, b] = await twoInstances(t, { resendInterval: 30 })
  t.equal((await a.login(phone)).statusCode, 200)
  const early = await b.login(phone)
  t.equal(early.statusCode, 429)
  t.equal(early.json().code, 'OTP_RESEND_TOO_SOON')
  t.ok(Number(early.headers['retry-after']) > 0)
})

t.test('wrong guesses through both instances burn the code', async (t) => {
  const [a, b] = await twoInstances(t, { maxAttempts: 3 })
  await a.login(phone)
  const code = a.codeFor(phone)
  t.equal((await a.verify(phone, wrongCode(code))).statusCode, 401)
  t.equal((await b.verify(phone, wrongCode(code))).statusCode, 401)
  t.equal((await a.verify(phone, wrongCode(code))).json().code, 'OTP_ATTEMPTS_EXCEEDED', 'the third guess burns it')
  t.equal((await b.verify(phone, code)).json().code, 'OTP_ATTEMPTS_EXCEEDED', 'the right code, too late, on the other instance')
})

t.test('failures through both instances lock the number out on both', async (t) => {
  const [a, b] = await twoInstances(t, { maxAttempts: 10, maxFailures: 4, resendInterval: 0 })
  await a.login(phone)
  const code = a.codeFor(phone)
  for (const instance of [a, b, a]) t.equal((await instance.verify(phone, wrongCode(code))).statusCode, 401)
  t.equal((await b.verify(phone, wrongCode(code))).json().code, 'OTP_LOCKED', 'the fourth failure, on B, locks')
  for (const instance of [a, b]) {
    t.equal((await instance.verify(phone, code)).json().code, 'OTP_LOCKED', 'even the right code')
    t.equal((await instance.login(phone)).json().code, 'OTP_LOCKED', 'and no new code')
  }
})

t.test('per-IP route limits count requests to both instances', async (t) => {
  const [a, b] = await twoInstances(t, {
    resendInterval: 0,
    rateLimit: { login: { max: 2, timeWindow: 60_000 }, verify: { max: 3, timeWindow: 60_000 } }
  })
  t.equal((await a.login(phone, '10.0.0.1')).statusCode, 200)
  t.equal((await b.login('+919876543211', '10.0.0.1')).statusCode, 200)
  t.equal((await a.login('+919876543212', '10.0.0.1')).json().code, 'OTP_RATE_LIMITED')
  t.equal((await b.login('+919876543212', '10.0.0.1')).json().code, 'OTP_RATE_LIMITED')
  t.equal((await b.login('+919876543212', '10.0.0.2')).statusCode, 200, 'another IP has its own budget')

  for (const instance of [a, b, a]) t.equal((await instance.verify(phone, '000000', '10.0.0.1')).statusCode, 401)
  t.equal((await b.verify(phone, '000000', '10.0.0.1')).json().code, 'OTP_RATE_LIMITED')
})

t.test('instances must share codeSecret: a code hashed by one is not found by another', async (t) => {
  const server = await sharedRedis()
  await (await server.client()).flushall()
  const a = await buildApp(t, 'memory', { redis: await server.client(), codeSecret: CODE_SECRET })
  const b = await buildApp(t, 'memory', { redis: await server.client(), codeSecret: 'another-code-secret-that-is-long-enough' })
  await a.login(phone)
  t.equal((await b.verify(phone, a.codeFor(phone))).statusCode, 401)
  t.equal((await a.verify(phone, a.codeFor(phone))).statusCode, 200)
})
