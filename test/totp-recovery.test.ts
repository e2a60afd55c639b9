import t from 'tap'
import { identifierKinds, identifiers, storeKinds } from './helpers/app.js'
import { buildTotpApp, codeAt } from './helpers/totp.js'

for (const kind of storeKinds) {
  for (const idKind of identifierKinds) {
    const ids = identifiers(idKind)
    const id = ids.a
    t.test(`${kind} store, ${idKind}: recovery codes`, async (t) => {
      t.test('each of the 10 codes logs in once, and TOTP stays on', async (t) => {
        const { enable, verifyRecovery, verifyTotp, step } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 100 })
        const { secret, recoveryCodes } = await enable(id)
        for (const code of recoveryCodes) {
          const res = await verifyRecovery(id, code)
          t.equal(res.statusCode, 200, `${code.slice(0, 2)}… works`)
          t.ok(res.json().access)
        }
        for (const code of recoveryCodes) {
          const again = await verifyRecovery(id, code)
          t.equal(again.statusCode, 401, `${code.slice(0, 2)}… works once`)
          t.equal(again.json().code, 'OTP_INVALID')
        }
        t.equal((await verifyTotp(id, codeAt(secret, step()))).statusCode, 200, 'the authenticator still works')
      })

      t.test('typed loosely: any case, without the dash, with spaces', async (t) => {
        const { enable, verifyRecovery } = await buildTotpApp(t, kind, ids.options)
        const { recoveryCodes } = await enable(id)
        const [a = '', b = '', c = ''] = recoveryCodes
        t.equal((await verifyRecovery(id, a.toUpperCase())).statusCode, 200)
        t.equal((await verifyRecovery(id, b.replace('-', ''))).statusCode, 200)
        t.equal((await verifyRecovery(id, ` ${c.replace('-', ' ')} `)).statusCode, 200)
      })

      t.test("one identifier's code does not log in another", async (t) => {
        const { enable, verifyRecovery } = await buildTotpApp(t, kind, ids.options)
        const { recoveryCodes } = await enable(id)
        await enable(ids.b)
        t.equal((await verifyRecovery(ids.b, recoveryCodes[0] ?? '')).statusCode, 401)
        t.equal((await verifyRecovery(id, recoveryCodes[0] ?? '')).statusCode, 200)
      })

      t.test('parallel uses of one code: exactly one token', async (t) => {
        const { enable, verifyRecovery } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 100 })
        const { recoveryCodes } = await enable(id)
        const results = await Promise.all(Array.from({ length: 20 }, async () => await verifyRecovery(id, recoveryCodes[0] ?? '')))
        t.equal(results.filter((r) => r.statusCode === 200).length, 1)
      })

      t.test('wrong codes count toward the lockout, which refuses a right code', async (t) => {
        const { enable, verifyRecovery } = await buildTotpApp(t, kind, { ...ids.options, maxFailures: 2 })
        const { recoveryCodes } = await enable(id)
        t.equal((await verifyRecovery(id, 'zzzzz-zzzzz')).json().code, 'OTP_INVALID')
        const locked = await verifyRecovery(id, 'not a code at all')
        t.equal(locked.json().code, 'OTP_LOCKED', 'malformed codes count too')
        t.equal(locked.headers['retry-after'], '3600')
        t.equal((await verifyRecovery(id, recoveryCodes[0] ?? '')).json().code, 'OTP_LOCKED')
      })
    })
  }
}

t.test('/verify-recovery validates its body', async (t) => {
  const { app } = await buildTotpApp(t, 'memory')
  const phone = '+919876543210'
  for (const payload of [{ phone }, { code: 'abcde-fghjk' }, { phone, code: 12345 }, { phone, code: 'short' }, { phone, code: 'x'.repeat(33) }, { phone, code: 'abcde_fghjk' }, { phone, code: 'abcde-fghjk', otp: '123456' }]) {
    const res = await app.inject({ method: 'POST', url: '/verify-recovery', payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
  }
})
