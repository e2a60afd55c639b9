import t from 'tap'
import { buildApp, storeKinds, claims } from './helpers/app.js'

for (const kind of storeKinds) {
  t.test(`${kind} store: e-mail codes`, async (t) => {
    const { app, sent } = await buildApp(t, kind, {
      identifierKinds: ['phone', 'email'],
      findOrCreateUser: (args) => ({ id: `user:${args.email ?? args.phone}` })
    })
    const post = async (url: string, payload: unknown) => await app.inject({ method: 'POST', url, payload: payload as object })

    const login = await post('/login', { email: '  Ana@Example.COM ' })
    t.equal(login.statusCode, 200)
    t.same(login.json(), { message: 'OTP sent', expiresIn: 600, resendIn: 30 })
    t.equal(sent[0]?.channel, 'email')
    t.equal(sent[0]?.to, 'ana@example.com', 'trimmed and lower-cased')
    const code = sent[0]?.code ?? ''

    t.equal((await post('/verify-otp', { phone: '+919876543210', otp: code })).statusCode, 401, 'not valid for a phone number')
    const res = await post('/verify-otp', { email: 'ANA@example.com', otp: code })
    t.equal(res.statusCode, 200)
    const c = claims(res.json().access)
    t.equal(c.email, 'ana@example.com')
    t.equal(c.sub, 'user:ana@example.com')
    t.notOk('phone' in c, 'the token carries email instead of phone')
  })
}

t.test('bad or ambiguous bodies', async (t) => {
  const { app, sent } = await buildApp(t, 'memory', { identifierKinds: ['phone', 'email'] })
  const post = async (url: string, payload: unknown) => await app.inject({ method: 'POST', url, payload: payload as object })
  for (const email of ['ana', 'ana@example', 'ana@@example.com', 'ana @example.com', '.ana@example.com', '"ana"@example.com', 'ana@[127.0.0.1]', '}x@example.com', 'a{b}@example.com', 'a*@example.com', 'a?b@example.com']) {
    const res = await post('/login', { email })
    t.equal(res.statusCode, 400, email)
    t.equal(res.json().code, 'OTP_INVALID_EMAIL', email)
  }
  const cases: Array<[string, unknown]> = [
    ['both phone and email', { phone: '+919876543210', email: 'ana@example.com' }],
    ['neither', {}],
    ['email not a string', { email: ['ana@example.com'] }],
    ['over-long email', { email: `${'a'.repeat(250)}@example.com` }]
  ]
  for (const [name, body] of cases) {
    const res = await post('/login', body)
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'FST_ERR_VALIDATION', name)
  }
  const both = await post('/verify-otp', { phone: '+919876543210', email: 'ana@example.com', otp: '123456' })
  t.equal(both.json().code, 'FST_ERR_VALIDATION', 'verify: both')
  t.equal(sent.length, 0)
})

t.test('identifierKinds picks the identifiers a route accepts', async (t) => {
  const phoneOnly = await buildApp(t, 'memory')
  const res = await phoneOnly.login('ana@example.com')
  t.equal(res.json().code, 'FST_ERR_VALIDATION', 'e-mail is off by default')

  const emailOnly = await buildApp(t, 'memory', { identifierKinds: ['email'] })
  t.equal((await emailOnly.login('+919876543210')).json().code, 'FST_ERR_VALIDATION', "['email'] refuses phone numbers")
  t.equal((await emailOnly.login('ana@example.com')).statusCode, 200)
  t.equal(emailOnly.sent[0]?.channel, 'email')
})

t.test('the old option name "channels" still works, with a deprecation warning, and cannot be given beside the new one', async (t) => {
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const old = await buildApp(t, 'memory', { channels: ['email'] })
  t.equal((await old.login('ana@example.com')).statusCode, 200)
  t.equal((await old.login('+919876543210')).json().code, 'FST_ERR_VALIDATION')
  await new Promise((resolve) => setImmediate(resolve))
  t.match(warnings, [{ name: 'DeprecationWarning', code: 'FOTPDEP001' }])
  await t.rejects(buildApp(t, 'memory', { channels: ['email'], identifierKinds: ['email'] }), /option "channels" is the old name of "identifierKinds"/)
})
