import t from 'tap'
import { buildApp, storeKinds, wrongCode } from './helpers/app.js'

const phone = '+919876543210'

for (const kind of storeKinds) {
  t.test(`${kind} store`, async (t) => {
    t.test('50 parallel verifies with the right code: exactly one token', async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind)
      await login(phone)
      const code = codeFor(phone)
      const results = await Promise.all(Array.from({ length: 50 }, () => verify(phone, code)))
      t.equal(results.filter((r) => r.statusCode === 200).length, 1)
      t.equal(results.filter((r) => r.statusCode === 401).length, 49)
    })

    t.test('50 parallel wrong guesses: never more than maxAttempts checked', async (t) => {
      const { login, verify, codeFor } = await buildApp(t, kind, { maxAttempts: 5, maxFailures: 100 })
      await login(phone)
      const code = codeFor(phone)
      const wrong = wrongCode(code)
      const results = await Promise.all(Array.from({ length: 50 }, () => verify(phone, wrong)))
      t.equal(results.filter((r) => r.statusCode === 401).length, 4, 'four plain misses')
      t.equal(results.filter((r) => r.statusCode === 429 && r.json().code === 'OTP_ATTEMPTS_EXCEEDED').length, 46)
      t.equal((await verify(phone, code)).json().code, 'OTP_ATTEMPTS_EXCEEDED', 'the right code can no longer win')
    })

    t.test('parallel logins for one number: at most maxSends codes are sent', async (t) => {
      const { login, sent } = await buildApp(t, kind, { resendInterval: 0 })
      const results = await Promise.all(Array.from({ length: 20 }, () => login(phone)))
      t.equal(results.filter((r) => r.statusCode === 200).length, 3)
      t.equal(results.filter((r) => r.statusCode === 429).length, 17)
      t.equal(sent.length, 3)
    })
  })
}
