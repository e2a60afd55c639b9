import t from 'tap'
import { identifierKinds, identifiers, storeKinds, wrongCode, claims } from './helpers/app.js'
import { STEP_MS, buildTotpApp, codeAt } from './helpers/totp.js'

for (const kind of storeKinds) {
  for (const idKind of identifierKinds) {
    const ids = identifiers(idKind)
    const id = ids.a
    t.test(`${kind} store, ${idKind}: logging in with an authenticator code`, async (t) => {
      t.test('a current code gives the same tokens as /verify-otp', async (t) => {
        const { app, enable, verifyTotp, step } = await buildTotpApp(t, kind, {
          ...ids.options, findOrCreateUser: () => ({ id: 'user-7', role: 'admin' })
        })
        const { secret } = await enable(id)
        const res = await verifyTotp(id, codeAt(secret, step()))
        t.equal(res.statusCode, 200)
        const body = res.json()
        t.same(Object.keys(body).sort(), ['access', 'deviceToken', 'expiresIn', 'refresh', 'refreshExpiresIn', 'tokenType'])
        t.match(claims(body.access), { sub: 'user-7', role: 'admin', [ids.claim]: id })
        t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.access}` } })).statusCode, 200)
        t.equal((await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: body.refresh } })).statusCode, 200)
      })

      t.test('drift: one step either way is accepted, two are not', async (t) => {
        const { enable, verifyTotp, step, clock } = await buildTotpApp(t, kind, ids.options)
        const { secret } = await enable(id)
        clock.now += 2 * STEP_MS // so the step before this one was not used by the confirmation
        t.equal((await verifyTotp(id, codeAt(secret, step() - 2))).statusCode, 401, 'two steps behind')
        t.equal((await verifyTotp(id, codeAt(secret, step() + 2))).statusCode, 401, 'two steps ahead')
        t.equal((await verifyTotp(id, codeAt(secret, step() - 1))).statusCode, 200, 'one step behind')
        t.equal((await verifyTotp(id, codeAt(secret, step() + 1))).statusCode, 200, 'one step ahead')
        clock.now += 3 * STEP_MS
        t.equal((await verifyTotp(id, codeAt(secret, step()))).statusCode, 200, 'the current step, later on')
      })

      t.test('no replay: a step once used, or any step before it, is refused', async (t) => {
        const { enable, verifyTotp, step, clock } = await buildTotpApp(t, kind, ids.options)
        const { secret } = await enable(id)
        const code = codeAt(secret, step())
        t.equal((await verifyTotp(id, code)).statusCode, 200)
        const replay = await verifyTotp(id, code)
        t.equal(replay.statusCode, 401, 'the same code in the same step')
        t.equal(replay.json().code, 'OTP_INVALID')
        clock.now += STEP_MS
        t.equal((await verifyTotp(id, code)).statusCode, 401, 'the same code a step later (still within drift)')
        t.equal((await verifyTotp(id, codeAt(secret, step() + 1))).statusCode, 200, 'a step ahead')
        t.equal((await verifyTotp(id, codeAt(secret, step()))).statusCode, 401, 'then the current step is behind the last used one')
      })

      t.test('20 parallel verifies of one code give exactly one token', async (t) => {
        const { enable, verifyTotp, step } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 100 })
        const { secret } = await enable(id)
        const code = codeAt(secret, step())
        const results = await Promise.all(Array.from({ length: 20 }, async () => await verifyTotp(id, code)))
        t.equal(results.filter((r) => r.statusCode === 200).length, 1)
        t.equal(results.filter((r) => r.json().code === 'OTP_INVALID').length, 19)
      })

      t.test('wrong codes count toward maxFailures and lock out, even from a right code', async (t) => {
        const { enable, verifyTotp, verify, login, codeFor, step } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 3 })
        const { secret } = await enable(id)
        const right = codeAt(secret, step())
        const wrong = wrongCode(right)
        t.equal((await verifyTotp(id, wrong)).json().code, 'OTP_INVALID')
        t.equal((await verifyTotp(id, wrong)).json().code, 'OTP_INVALID')
        const locked = await verifyTotp(id, wrong)
        t.equal(locked.statusCode, 429, 'the failure that reaches maxFailures')
        t.equal(locked.json().code, 'OTP_LOCKED')
        t.equal(locked.headers['retry-after'], '3600')
        t.equal(locked.json().retryAfter, 3600)
        const refused = await verifyTotp(id, right)
        t.equal(refused.json().code, 'OTP_LOCKED', 'the right code is refused too')
        t.equal(refused.headers['retry-after'], '3600')
        t.equal((await login(id)).json().code, 'OTP_LOCKED', 'one lockout for every way in: /login')
        t.equal((await verify(id, codeFor(id))).json().code, 'OTP_LOCKED', 'and /verify-otp')
      })

      t.test('failures at /verify-otp and /verify-totp add up', async (t) => {
        const { enable, verifyTotp, verify, login, codeFor, step } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 3 })
        const { secret } = await enable(id)
        await login(id)
        await verify(id, wrongCode(codeFor(id)))
        await verifyTotp(id, wrongCode(codeAt(secret, step())))
        t.equal((await verify(id, wrongCode(codeFor(id)))).json().code, 'OTP_LOCKED')
      })

      t.test('a success clears the failure count', async (t) => {
        const { enable, verifyTotp, step, clock } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 2 })
        const { secret } = await enable(id)
        t.equal((await verifyTotp(id, wrongCode(codeAt(secret, step())))).statusCode, 401)
        t.equal((await verifyTotp(id, codeAt(secret, step()))).statusCode, 200)
        clock.now += STEP_MS
        t.equal((await verifyTotp(id, wrongCode(codeAt(secret, step())))).statusCode, 401, 'one failure again is no lockout')
        t.equal((await verifyTotp(id, codeAt(secret, step()))).statusCode, 200)
      })

      t.test('without an authenticator: the same 401, counted the same, so nothing tells whether one is on', async (t) => {
        const { verifyTotp, verifyRecovery } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 3 })
        const first = await verifyTotp(id, '123456')
        t.equal(first.statusCode, 401)
        t.same(first.json(), { statusCode: 401, code: 'OTP_INVALID', error: 'Unauthorized', message: 'The code is wrong, expired or already used' })
        t.equal((await verifyRecovery(id, 'abcde-fghjk')).json().code, 'OTP_INVALID')
        t.equal((await verifyTotp(id, '123456')).json().code, 'OTP_LOCKED')
      })
    })
  }
}

t.test('/verify-totp validates its body like /verify-otp', async (t) => {
  const { app } = await buildTotpApp(t, 'memory')
  const phone = '+919876543210'
  for (const payload of [
    { phone }, { otp: '123456' }, { phone, otp: 123456 }, { phone, otp: '12345' }, { phone, otp: '1234567' },
    { phone, otp: '12345x' }, { phone, otp: '123456', extra: 1 }, { email: 'ana@example.com', otp: '123456' }
  ]) {
    const res = await app.inject({ method: 'POST', url: '/verify-totp', payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().code, 'FST_ERR_VALIDATION')
  }
  t.equal((await app.inject({ method: 'POST', url: '/verify-totp', payload: { phone: '12', otp: '123456' } })).json().code, 'OTP_INVALID_PHONE')
})

t.test('/verify-totp and /verify-recovery share the per-IP verify limit settings', async (t) => {
  const { verifyTotp, verifyRecovery } = await buildTotpApp(t, 'memory', { rateLimit: { verify: { max: 2, timeWindow: 60_000 } }, maxFailures: 100 })
  await verifyTotp('+919876543210', '123456')
  await verifyTotp('+919876543210', '123456')
  t.equal((await verifyTotp('+919876543210', '123456')).json().code, 'OTP_RATE_LIMITED')
  await verifyRecovery('+919876543210', 'abcde-fghjk')
  await verifyRecovery('+919876543210', 'abcde-fghjk')
  t.equal((await verifyRecovery('+919876543210', 'abcde-fghjk')).json().code, 'OTP_RATE_LIMITED')
})
