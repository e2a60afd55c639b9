import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { MemoryStore } from '../lib/index.js'
import { buildApp, identifierKinds, identifiers, storeKinds, wrongCode, claims } from './helpers/app.js'

for (const kind of storeKinds) {
  for (const idKind of identifierKinds) {
    const ids = identifiers(idKind)
    const id = ids.a
    const other = ids.b
    t.test(`${kind} store, ${idKind}`, async (t) => {
      t.test('the right code gives a token that opens a protected route', async (t) => {
        const { app, login, verify, codeFor } = await buildApp(t, kind, ids.options)
        await login(id)
        const res = await verify(id, codeFor(id))
        t.equal(res.statusCode, 200)
        const body = res.json()
        t.same(Object.keys(body).sort(), ['access', 'deviceToken', 'expiresIn', 'refresh', 'refreshExpiresIn', 'tokenType'])
        t.equal(body.tokenType, 'Bearer')
        t.equal(body.expiresIn, 900)
        t.equal(body.refreshExpiresIn, 30 * 86400)
        t.equal(res.headers['cache-control'], 'no-store', 'tokens are not cached')
        const c = claims(body.access)
        t.same(Object.keys(c).sort(), ['amr', 'auth_time', 'exp', 'iat', 'jti', ids.claim, 'sid', 'sub'].sort())
        t.equal(c.sub, id)
        t.equal(c[ids.claim], id)
        t.equal(Number(c.exp) - Number(c.iat), 900)
        const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.access}` } })
        t.equal(me.statusCode, 200)
        t.same(me.json(), c)
      })

      t.test('wrong, never requested, used and expired codes get one and the same 401', async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, { ...ids.options, codeTtl: 1, resendInterval: 0 })
        const answers: string[] = []
        answers.push((await verify(id, '123456')).body) // never requested
        await login(id)
        answers.push((await verify(id, wrongCode(codeFor(id)))).body) // wrong
        t.equal((await verify(id, codeFor(id))).statusCode, 200)
        answers.push((await verify(id, codeFor(id))).body) // already used
        await login(id)
        await sleep(1100)
        answers.push((await verify(id, codeFor(id))).body) // expired
        for (const body of answers) {
          t.same(JSON.parse(body), {
            statusCode: 401, code: 'OTP_INVALID', error: 'Unauthorized', message: 'The code is wrong, expired or already used'
          })
        }
      })

      t.test("one number's code does not log in another number", async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, ids.options)
        await login(id)
        await login(other)
        t.equal((await verify(other, codeFor(id))).statusCode, 401)
        t.equal((await verify(id, codeFor(id))).statusCode, 200, 'and it still works for its own number')
      })

      t.test('maxAttempts wrong guesses burn the code: 429 OTP_ATTEMPTS_EXCEEDED, even for the right code', async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, { ...ids.options, maxAttempts: 3, resendInterval: 0 })
        await login(id)
        const wrong = wrongCode(codeFor(id))
        t.equal((await verify(id, wrong)).statusCode, 401)
        t.equal((await verify(id, wrong)).statusCode, 401)
        const burned = await verify(id, wrong)
        t.equal(burned.statusCode, 429)
        t.equal(burned.json().code, 'OTP_ATTEMPTS_EXCEEDED')
        t.equal((await verify(id, codeFor(id))).json().code, 'OTP_ATTEMPTS_EXCEEDED')
        await login(id)
        t.equal((await verify(id, codeFor(id))).statusCode, 200, 'a new code works')
      })

      t.test('maxFailures across new codes locks the number out, even from the right code', async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, { ...ids.options, maxAttempts: 3, maxFailures: 4, resendInterval: 0, maxSends: 10 })
        await login(id)
        await verify(id, wrongCode(codeFor(id)))
        await verify(id, wrongCode(codeFor(id)))
        await login(id)
        t.equal((await verify(id, wrongCode(codeFor(id)))).statusCode, 401)
        const locked = await verify(id, wrongCode(codeFor(id)))
        t.equal(locked.statusCode, 429)
        t.equal(locked.json().code, 'OTP_LOCKED')
        t.equal(locked.headers['retry-after'], '3600')
        t.equal(locked.json().retryAfter, 3600)
        const right = await verify(id, codeFor(id))
        t.equal(right.json().code, 'OTP_LOCKED', 'the right code is refused too')
        const relogin = await login(id)
        t.equal(relogin.statusCode, 429)
        t.equal(relogin.json().code, 'OTP_LOCKED')
        t.equal((await login(other)).statusCode, 200, 'other numbers are not affected')
      })

      t.test('success resets the send and failure counters', async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, { ...ids.options, maxSends: 2, maxFailures: 2, maxAttempts: 5, resendInterval: 0 })
        await login(id)
        await login(id)
        t.equal((await verify(id, wrongCode(codeFor(id)))).statusCode, 401)
        t.equal((await verify(id, codeFor(id))).statusCode, 200)
        t.equal((await login(id)).statusCode, 200, 'sends were reset')
        t.equal((await verify(id, wrongCode(codeFor(id)))).statusCode, 401, 'failures were reset: no lockout')
        t.equal((await verify(id, codeFor(id))).statusCode, 200)
      })

      t.test('findOrCreateUser gives the subject and extra claims; the plugin keeps its own', async (t) => {
        const calls: string[] = []
        const { login, verify, codeFor } = await buildApp(t, kind, {
          ...ids.options,
          findOrCreateUser: async (args) => {
            calls.push(args.phone ?? args.email)
            return { id: 'user-42', role: 'admin', phone: '+10000000000', exp: 1, sub: 'evil' }
          }
        })
        await login(id)
        t.same(calls, [], 'not called at login')
        const c = claims((await verify(id, codeFor(id))).json().access)
        t.same(calls, [id])
        t.equal(c.sub, 'user-42')
        t.equal(c.role, 'admin')
        t.equal(c[ids.claim], id)
        t.equal(Number(c.exp) - Number(c.iat), 900)
      })

      t.test('accessTokenTtl sets exp and expiresIn', async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, { ...ids.options, accessTokenTtl: '1h' })
        await login(id)
        const body = (await verify(id, codeFor(id))).json()
        t.equal(body.expiresIn, 3600)
        const c = claims(body.access)
        t.equal(Number(c.exp) - Number(c.iat), 3600)
      })
    })
  }
}

t.test('a findOrCreateUser that throws: a plain 500, its message only in the log; a deliberate 4xx passes through', async (t) => {
  const logs: string[] = []
  let failure: Error = new Error('database at 10.1.2.3:5432 refused the connection')
  const { login, verify, codeFor } = await buildApp(t, 'memory', {
    resendInterval: 0,
    findOrCreateUser: () => { throw failure }
  }, logs)
  await login('+919876543210')
  const res = await verify('+919876543210', codeFor('+919876543210'))
  t.equal(res.statusCode, 500)
  t.same(res.json(), { statusCode: 500, code: 'OTP_INTERNAL_ERROR', error: 'Internal Server Error', message: 'Something went wrong; try again' })
  t.match(logs.join('\n'), /database at 10\.1\.2\.3:5432 refused/, 'the cause is logged')

  failure = Object.assign(new Error('this account is suspended'), { statusCode: 403 })
  await login('+919876543210')
  const banned = await verify('+919876543210', codeFor('+919876543210'))
  t.equal(banned.statusCode, 403, "the host's own 403 reaches the client")
  t.equal(banned.json().message, 'this account is suspended')
})

for (const kind of storeKinds) {
  t.test(`${kind} store: verify checks the numbering plan of a number it has no code for`, async (t) => {
    const { login, verify, codeFor } = await buildApp(t, kind, { allowedCountries: ['IN', 'US'], maxFailures: 2 })
    for (const bad of ['+15550000001', '+91 12345', '+447911123456', 'call +919876543210']) {
      const res = await verify(bad, '123456')
      t.equal(res.statusCode, 400, bad)
      t.equal(res.json().code, 'OTP_INVALID_PHONE', bad)
    }
    t.equal((await verify('+919876543210', '123456')).json().code, 'OTP_INVALID', 'a valid number without a code: 401')
    await login('+91 98765 43210')
    const wrong = wrongCode(codeFor('+919876543210'))
    t.equal((await verify('+919876543210', wrong)).json().code, 'OTP_INVALID', 'a wrong guess on a valid number: 401')
    t.equal((await verify('+919876543210', wrong)).json().code, 'OTP_LOCKED', 'and it counts: the second failure locks (maxFailures 2)')
    await login('+919876543211')
    t.equal((await verify(' +91 98765-43211', codeFor('+919876543211'))).statusCode, 200, 'the number in another form finds its code')
  })
}

t.test('store down: an invalid number still gets OTP_INVALID_PHONE, a valid one OTP_STORE_UNAVAILABLE', async (t) => {
  class DownStore extends MemoryStore {
    override async verifyCode (): Promise<never> { throw new Error('connection refused') }
  }
  const store = new DownStore()
  t.teardown(async () => { await store.close() })
  const { verify } = await buildApp(t, 'memory', { store, codeSecret: 'test-code-secret-that-is-long-enough-00' })
  const bad = await verify('+15550000001', '123456')
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'OTP_INVALID_PHONE')
  const down = await verify('+919876543210', '123456')
  t.equal(down.statusCode, 503)
  t.equal(down.json().code, 'OTP_STORE_UNAVAILABLE')
})
