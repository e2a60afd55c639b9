import Fastify from 'fastify'
import t from 'tap'
import otpLogin from '../lib/index.js'
import { JWT_SECRET, buildApp, storeKinds, restoreEnv } from './helpers/app.js'

const identities = { '+1 555 000 0000': '123456', 'Reviewer@Example.com': '654321' }

for (const kind of storeKinds) {
  t.test(`${kind} store: test identities get a fixed code that is never sent`, async (t) => {
    const { login, verify, sent } = await buildApp(t, kind, {
      identifierKinds: ['phone', 'email'], testIdentities: identities, maxAttempts: 2, resendInterval: 0
    })
    const real = await login('+919876543210')
    const fake = await login('+15550000000')
    t.equal(fake.statusCode, 200, 'a +1 555 number is accepted because it is configured')
    t.equal(fake.body, real.body, 'the answer looks like any other')
    t.equal(sent.length, 1, 'only the real number got a send')
    t.equal((await verify('+15550000000', '123456')).statusCode, 200)
    t.equal((await verify('+15550000000', '123456')).statusCode, 401, 'still single use: log in again first')

    await login('reviewer@example.com')
    t.equal((await verify('reviewer@example.com', '000000')).statusCode, 401)
    t.equal((await verify('reviewer@example.com', '000000')).json().code, 'OTP_ATTEMPTS_EXCEEDED', 'still bound by maxAttempts')
    t.equal((await verify('reviewer@example.com', '654321')).json().code, 'OTP_ATTEMPTS_EXCEEDED')
    t.equal(sent.length, 1)
    t.equal((await login('+15550000001')).json().code, 'OTP_INVALID_PHONE', 'other 555 numbers are still refused')
  })
}

for (const kind of storeKinds) {
  t.test(`${kind} store: a test identity written so that the numbering plan reads it as another number`, async (t) => {
    // The library reads '+44 (0)10 0000 0000' as +441000000000 (no such number); loosely it is +4401000000000.
    const { login, verify, sent } = await buildApp(t, kind, { testIdentities: { '+4401000000000': '123456' } })
    t.equal((await login('+44 (0)10 0000 0000')).statusCode, 200)
    t.equal((await verify('+44 (0)10 0000 0000', '123456')).statusCode, 200, 'verify finds the code under the loose form')
    t.equal(sent.length, 0)
    t.equal((await verify('+44 (0)10 0000 0000', '123456')).statusCode, 401, 'single use')
  })
}

for (const kind of storeKinds) {
  t.test(`${kind} store: a test identity's number in a form login refuses is refused by verify too, before the store`, async (t) => {
    const { login, verify } = await buildApp(t, kind, { defaultCountry: 'US', testIdentities: { '+15550000000': '123456' }, maxFailures: 2 })
    t.equal((await login('+1 555 000 0000')).statusCode, 200)
    t.equal((await login('555 000 0000')).json().code, 'OTP_INVALID_PHONE', 'login: national form of a 555 number')
    for (let i = 0; i < 2; i++) {
      t.equal((await verify('555 000 0000', '000000')).json().code, 'OTP_INVALID_PHONE', 'verify answers the same')
    }
    t.equal((await verify('(555) 000-0000', '123456')).json().code, 'OTP_INVALID_PHONE', 'even with the right code')
    t.equal((await verify('+1 555 000 0000', '123456')).statusCode, 200, 'no failure was counted: not locked out')
  })
}

t.test('test identities are refused with NODE_ENV=production unless allowed', async (t) => {
  const env = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => { restoreEnv('NODE_ENV', env) })
  const start = async (options: Record<string, unknown>) => {
    const app = Fastify()
    try {
      await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, send: () => {}, testIdentities: identities, ...options })
      await app.ready()
    } finally {
      await app.close()
    }
  }
  await t.rejects(start({}), /testIdentities" is refused when NODE_ENV=production/)
  await t.resolves(start({ allowTestIdentitiesInProduction: true }))
})

t.test('test identity options are checked', async (t) => {
  const start = async (testIdentities: unknown) => {
    const app = Fastify()
    try {
      await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, send: () => {}, testIdentities } as never)
      await app.ready()
    } finally {
      await app.close()
    }
  }
  await t.rejects(start({ '+15550000000': '12345' }), /must be a string of codeLength \(6\) digits \(got 5 characters\)/)
  await t.rejects(start({ 'not a number': '123456' }), /keys must be E.164 phone numbers or e-mail addresses/)
  await t.rejects(start(['+15550000000']), /option "testIdentities"/)
})
