import t from 'tap'
import { MemoryStore, MemoryTotpStore } from '../lib/index.js'
import { CODE_SECRET, claims, everyStore, wrongCode } from './helpers/app.js'
import { STEP_MS, buildTotpApp, codeAt } from './helpers/totp.js'

const phone = '+919876543210'
const email = 'ana@example.com'
// One user behind a phone number and an e-mail address, as a host with its own user table would map them.
const oneUser = { identifierKinds: ['phone', 'email'] as const, totpMode: 'second-factor' as const, findOrCreateUser: () => ({ id: 'u1', plan: 'pro' }) }

for (const kind of everyStore) {
  t.test(`${kind} store: an authenticator is a second factor`, async (t) => {
    t.test('a right code for an enrolled user gives a second-factor token, no tokens; the second step gives them', async (t) => {
      const app = await buildTotpApp(t, kind, { ...oneUser, identifierKinds: ['phone', 'email'] })
      const { secret } = await app.enable(phone)
      const first = await app.firstFactor(phone)
      t.equal(first.statusCode, 200)
      const body = first.json()
      t.same(Object.keys(body).sort(), ['mfaExpiresIn', 'mfaRequired', 'mfaToken'], 'no access, refresh or device token')
      t.equal(body.mfaRequired, true)
      t.equal(body.mfaExpiresIn, 300)
      t.equal(app.sent.filter((s) => s.to === phone).length, 2, 'the code was sent and consumed as usual')
      t.equal((await app.verify(phone, app.codeFor(phone))).json().code, 'OTP_INVALID', 'the first code is consumed')

      const done = await app.mfaTotp(body.mfaToken, codeAt(secret, app.step()))
      t.equal(done.statusCode, 200)
      const tokens = done.json()
      t.same(Object.keys(tokens).sort(), ['access', 'deviceToken', 'expiresIn', 'refresh', 'refreshExpiresIn', 'tokenType'])
      const c = claims(tokens.access)
      t.match(c, { sub: 'u1', plan: 'pro', phone })
      t.same(c.amr, ['sms', 'otp', 'mfa'], 'amr in RFC 8176 words: an SMS code, an authenticator code, two factors')
      t.ok(typeof c.auth_time === 'number' && Math.abs(Number(c.auth_time) - Date.now() / 1000) < 5, 'auth_time is now')
      const me = await app.app.inject({ url: '/me', headers: { authorization: `Bearer ${tokens.access}` } })
      t.equal(me.statusCode, 200)
      t.equal((await app.mfaTotp(body.mfaToken, codeAt(secret, app.step() + 1))).json().code, 'OTP_MFA_TOKEN_INVALID', 'single use')

      const refreshed = claims((await app.app.inject({ method: 'POST', url: '/refresh', payload: { refresh: tokens.refresh } })).json().access)
      t.same(refreshed.amr, ['sms', 'otp', 'mfa'], 'a refresh keeps amr')
      t.equal(refreshed.auth_time, c.auth_time, 'and auth_time: a refresh is not a sign-in')
      const listed = await app.app.inject({ url: '/sessions', headers: { authorization: `Bearer ${tokens.access}` } })
      const listedAmr = listed.json().sessions.find((s: { id: string }) => s.id === c.sid)?.amr
      t.same(listedAmr, ['sms', 'otp', 'mfa'], 'and the session lists the same amr')
    })

    t.test('through any identifier of the user; users without an authenticator sign in as before', async (t) => {
      const app = await buildTotpApp(t, kind, oneUser)
      const { secret } = await app.enable(phone)
      const byMail = (await app.firstFactor(email)).json()
      t.equal(byMail.mfaRequired, true, 'the e-mail address of the same user needs the second factor too')
      const tokens = (await app.mfaTotp(byMail.mfaToken, codeAt(secret, app.step()))).json()
      t.match(claims(tokens.access), { sub: 'u1', email })
      t.same(claims(tokens.access).amr, ['email', 'otp', 'mfa'])

      const other = await buildTotpApp(t, kind, { ...oneUser, findOrCreateUser: ({ phone, email }) => ({ id: String(phone ?? email) }) })
      const plain = (await other.firstFactor(phone)).json()
      t.ok(typeof plain.access === 'string', 'no authenticator: tokens at once')
      t.same(claims(plain.access).amr, ['sms'])
    })

    t.test('findOrCreateUser runs once per sign-in, after the first factor', async (t) => {
      const calls: string[] = []
      const app = await buildTotpApp(t, kind, { ...oneUser, findOrCreateUser: ({ phone }) => { calls.push(String(phone)); return { id: 'u1' } } })
      const { secret } = await app.enable(phone)
      calls.splice(0)
      await app.login(phone)
      t.same(calls, [], 'not at /login')
      const first = (await app.verify(phone, app.codeFor(phone))).json()
      t.same(calls, [phone])
      await app.mfaTotp(first.mfaToken, codeAt(secret, app.step()))
      t.same(calls, [phone], 'not again at the second step')
    })

    t.test('50 parallel second steps with one token and the right code give exactly one sign-in', async (t) => {
      const app = await buildTotpApp(t, kind, oneUser) // the default maxAttempts (5) and maxFailures (10)
      const { secret } = await app.enable(phone)
      const { mfaToken } = (await app.firstFactor(phone)).json()
      const code = codeAt(secret, app.step())
      const results = await Promise.all(Array.from({ length: 50 }, async () => await app.mfaTotp(mfaToken, code)))
      t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'one sign-in')
      // The others: the step was used (401), the token was spent (401), or every attempt of the token was taken
      // by guesses still in flight (429 OTP_ATTEMPTS_EXCEEDED, until the winner spends it).
      const others = new Set(results.filter((r) => r.statusCode !== 200).map((r) => r.json().code))
      t.same([...others].filter((code) => !['OTP_INVALID', 'OTP_MFA_TOKEN_INVALID', 'OTP_ATTEMPTS_EXCEEDED'].includes(code)), [])
      t.equal((await app.mfaTotp(mfaToken, code)).json().code, 'OTP_MFA_TOKEN_INVALID', 'the token is spent')
      const again = (await app.firstFactor(phone)).json()
      t.equal(again.mfaRequired, true, 'nobody is locked out')
      t.equal((await app.mfaTotp(again.mfaToken, codeAt(secret, app.step() + 1))).statusCode, 200)
    })

    t.test('an mfaToken works only for the identifier it was issued to', async (t) => {
      const app = await buildTotpApp(t, kind, { ...oneUser, findOrCreateUser: ({ phone, email }) => ({ id: String(phone ?? email) }) })
      const { secret } = await app.enable(phone)
      const other = '+919876543211'
      await app.enable(other)
      const { mfaToken } = (await app.firstFactor(phone)).json()
      const [, secretPart] = mfaToken.split('.')
      const moved = `${Buffer.from(other).toString('base64url')}.${secretPart}`
      t.equal((await app.mfaTotp(moved, codeAt(secret, app.step()))).json().code, 'OTP_MFA_TOKEN_INVALID')
      t.equal((await app.mfaTotp(mfaToken, codeAt(secret, app.step()))).statusCode, 200, 'the real one still works')
    })

    t.test('recovery codes work as the second factor, each once', async (t) => {
      const app = await buildTotpApp(t, kind, oneUser)
      const { recoveryCodes } = await app.enable(phone)
      const code = recoveryCodes[0] ?? ''
      const one = (await app.firstFactor(phone)).json()
      const res = await app.mfaRecovery(one.mfaToken, code)
      t.equal(res.statusCode, 200)
      t.same(claims(res.json().access).amr, ['sms', 'recovery', 'mfa'])
      const two = (await app.firstFactor(phone)).json()
      const again = await app.mfaRecovery(two.mfaToken, code)
      t.equal(again.json().code, 'OTP_INVALID', 'a used recovery code')
      t.equal((await app.mfaRecovery(two.mfaToken, recoveryCodes[1] ?? '')).statusCode, 200, 'the next one works')
    })

    t.test('no guessing without the first factor: the identifier body is refused', async (t) => {
      const app = await buildTotpApp(t, kind, oneUser)
      const { secret, recoveryCodes } = await app.enable(phone)
      const totp = await app.verifyTotp(phone, codeAt(secret, app.step()))
      t.equal(totp.statusCode, 400)
      t.equal(totp.json().code, 'FST_ERR_VALIDATION')
      t.equal((await app.verifyRecovery(phone, recoveryCodes[0] ?? '')).json().code, 'FST_ERR_VALIDATION')
      for (const mfaToken of [undefined, '', 'x', 'a.b', `${Buffer.from(phone).toString('base64url')}.${'A'.repeat(43)}`, '!'.repeat(100)]) {
        const res = await app.mfaTotp(mfaToken as string, codeAt(secret, app.step()))
        t.equal(res.statusCode, 401, `mfaToken ${String(mfaToken)}`)
        t.equal(res.json().code, 'OTP_MFA_TOKEN_INVALID')
      }
      t.equal((await app.mfaTotp('A'.repeat(600), '123456')).statusCode, 400, 'an over-long token is a validation error')
      t.equal((await app.mfaTotp(`${'A'.repeat(20)}.${'B'.repeat(43)}`, '12345')).statusCode, 400, 'a code of the wrong shape')
    })

    t.test('wrong codes burn the mfaToken after maxAttempts and count toward the lockout', async (t) => {
      const app = await buildTotpApp(t, kind, { ...oneUser, maxAttempts: 2, maxFailures: 3 })
      const { secret } = await app.enable(phone)
      const { mfaToken } = (await app.firstFactor(phone)).json()
      const right = codeAt(secret, app.step())
      t.equal((await app.mfaTotp(mfaToken, wrongCode(right))).json().code, 'OTP_INVALID')
      t.equal((await app.mfaTotp(mfaToken, wrongCode(wrongCode(right)))).json().code, 'OTP_ATTEMPTS_EXCEEDED', 'burned')
      t.equal((await app.mfaTotp(mfaToken, right)).json().code, 'OTP_ATTEMPTS_EXCEEDED', 'even for the right code')
      const next = (await app.firstFactor(phone)).json()
      const locked = await app.mfaTotp(next.mfaToken, wrongCode(right))
      t.equal(locked.json().code, 'OTP_LOCKED', 'the third wrong code of the identifier locks it out')
      t.ok(Number(locked.headers['retry-after']) > 0)
      t.equal((await app.mfaTotp(next.mfaToken, right)).json().code, 'OTP_LOCKED', 'even the right code')
      t.equal((await app.login(phone)).json().code, 'OTP_LOCKED', 'and the first factor')
    })

    t.test('a right code whose step was already used is refused without counting', async (t) => {
      const app = await buildTotpApp(t, kind, { ...oneUser, maxFailures: 2 })
      const { secret } = await app.enable(phone)
      const code = codeAt(secret, app.step())
      t.equal((await app.mfaTotp((await app.firstFactor(phone)).json().mfaToken, code)).statusCode, 200)
      const { mfaToken } = (await app.firstFactor(phone)).json()
      for (let i = 0; i < 4; i++) t.equal((await app.mfaTotp(mfaToken, code)).json().code, 'OTP_INVALID', 'the used step, again')
      app.clock.now += STEP_MS
      t.equal((await app.mfaTotp(mfaToken, codeAt(secret, app.step()))).statusCode, 200, 'not locked out, token not burned')
    })
  })
}

t.test('an mfaToken expires after 300 seconds', async (t) => {
  let now = Date.now()
  const store = new MemoryStore({ now: () => now })
  t.teardown(() => store.close())
  const app = await buildTotpApp(t, 'memory', { ...oneUser, store, totpStore: new MemoryTotpStore(), codeSecret: CODE_SECRET })
  const { secret } = await app.enable(phone)
  const { mfaToken } = (await app.firstFactor(phone)).json()
  now += 301_000
  t.equal((await app.mfaTotp(mfaToken, codeAt(secret, app.step()))).json().code, 'OTP_MFA_TOKEN_INVALID')
})

t.test("'alternative' mode keeps authenticator codes as another way in, bound to the identifier", async (t) => {
  const app = await buildTotpApp(t, 'memory', { totpMode: 'alternative' })
  const { secret } = await app.enable(phone)
  const first = (await app.firstFactor(phone)).json()
  t.ok(typeof first.access === 'string', 'no second factor')
  const res = await app.verifyTotp(phone, codeAt(secret, app.step()))
  t.equal(res.statusCode, 200)
  t.same(claims(res.json().access).amr, ['otp'], 'one factor: an authenticator code, no mfa')
  t.equal((await app.mfaTotp('x.y', '123456')).statusCode, 400, 'the mfaToken body is not this mode\'s')
})

t.test('second-factor is the default once totpEncryptionKey is set; totpMode needs it', async (t) => {
  const app = await buildTotpApp(t, 'memory', { ...oneUser, totpMode: undefined })
  await app.enable(phone)
  t.equal((await app.firstFactor(phone)).json().mfaRequired, true)
})
