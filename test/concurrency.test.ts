import t from 'tap'
import { buildApp, identifierKinds, identifiers, storeKinds, wrongCode } from './helpers/app.js'

for (const kind of storeKinds) {
  for (const idKind of identifierKinds) {
    const ids = identifiers(idKind)
    const id = ids.a
    t.test(`${kind} store, ${idKind}`, async (t) => {
      t.test('50 parallel verifies with the right code: exactly one token', async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, ids.options)
        await login(id)
        const code = codeFor(id)
        const results = await Promise.all(Array.from({ length: 50 }, () => verify(id, code)))
        t.equal(results.filter((r) => r.statusCode === 200).length, 1)
        t.equal(results.filter((r) => r.statusCode === 401).length, 49)
      })

      t.test('50 parallel wrong guesses: never more than maxAttempts checked', async (t) => {
        const { login, verify, codeFor } = await buildApp(t, kind, { ...ids.options, maxAttempts: 5, maxFailures: 100 })
        await login(id)
        const code = codeFor(id)
        const wrong = wrongCode(code)
        const results = await Promise.all(Array.from({ length: 50 }, () => verify(id, wrong)))
        t.equal(results.filter((r) => r.statusCode === 401).length, 4, 'four plain misses')
        t.equal(results.filter((r) => r.statusCode === 429 && r.json().code === 'OTP_ATTEMPTS_EXCEEDED').length, 46)
        t.equal((await verify(id, code)).json().code, 'OTP_ATTEMPTS_EXCEEDED', 'the right code can no longer win')
      })

      t.test('parallel logins for one number: at most maxSends codes are sent', async (t) => {
        const { login, sent } = await buildApp(t, kind, { ...ids.options, resendInterval: 0 })
        const results = await Promise.all(Array.from({ length: 20 }, () => login(id)))
        t.equal(results.filter((r) => r.statusCode === 200).length, 3)
        t.equal(results.filter((r) => r.statusCode === 429).length, 17)
        t.equal(sent.length, 3)
      })
    })
  }
}
