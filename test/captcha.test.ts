import t from 'tap'
import { buildApp, everyStore, readyWith } from './helpers/app.js'
import { startFakeHttp, type FakeHttpServer, type RecordedRequest } from './helpers/fake-http.js'

const phone = '+919876543210'
const secret = '0x4AAAAAAA-test-secret'
const good = 'XXXX.DUMMY.TOKEN.XXXX-solved'

/**
 * A siteverify endpoint as Cloudflare Turnstile and hCaptcha document it: a form POST of `secret`,
 * `response` and `remoteip`; JSON back with `success` (and `error-codes` when false).
 */
function siteverify (request: RecordedRequest): { status: number, body: unknown } {
  const form = new URLSearchParams(request.body)
  if (request.headers['content-type'] !== 'application/x-www-form-urlencoded' || form.get('secret') !== secret) {
    return { status: 200, body: { success: false, 'error-codes': ['invalid-input-secret'] } }
  }
  return form.get('response') === good
    ? { status: 200, body: { success: true, challenge_ts: new Date().toISOString(), hostname: 'example.com', 'error-codes': [] } }
    : { status: 200, body: { success: false, 'error-codes': ['invalid-input-response'] } }
}

for (const provider of ['turnstile', 'hcaptcha'] as const) {
  for (const kind of everyStore) {
    t.test(`${provider}, ${kind} store: /login needs a solved captcha`, async (t) => {
      const fake = await startFakeHttp(t, siteverify)
      const logs: string[] = []
      const app = await buildApp(t, kind, { captcha: { provider, secret, siteverifyUrl: fake.url }, resendInterval: 0 }, logs)
      const login = async (extra: Record<string, unknown>) =>
        await app.app.inject({ method: 'POST', url: '/login', payload: { phone, ...extra }, remoteAddress: '203.0.113.9' })

      const missing = await login({})
      t.equal(missing.statusCode, 400)
      t.equal(missing.json().code, 'OTP_CAPTCHA_INVALID')
      t.equal(fake.requests.length, 0, 'a missing token is not sent to the provider')
      const refused = await login({ captchaToken: 'not-solved' })
      t.equal(refused.json().code, 'OTP_CAPTCHA_INVALID')
      t.equal(app.sent.length, 0, 'nothing sent')

      const ok = await login({ captchaToken: good })
      t.equal(ok.statusCode, 200)
      t.equal(app.sent.length, 1)
      const form = new URLSearchParams(fake.requests.at(-1)?.body)
      t.same([...form.keys()].sort(), ['remoteip', 'response', 'secret'], 'the documented fields')
      t.equal(form.get('remoteip'), '203.0.113.9')

      t.equal((await login({ captchaToken: 'x'.repeat(4097) })).json().code, 'FST_ERR_VALIDATION', 'an over-long token')
      t.equal((await login({ captchaToken: 12 })).json().code, 'FST_ERR_VALIDATION')
      t.notMatch(logs.join('\n'), good, 'the token is never logged')
      t.notMatch(logs.join('\n'), 'not-solved')
    })
  }
}

t.test('a provider that is down, failing, slow or answering nonsense: 503, nothing sent, no counter moved', async (t) => {
  const fake = await startFakeHttp(t, siteverify)
  const app = await buildApp(t, 'redis', { captcha: { provider: 'turnstile', secret, siteverifyUrl: fake.url, timeout: 300 }, maxSends: 1 })
  const answers: Array<[string, FakeHttpServer['answer']]> = [
    ['a 500', () => ({ status: 500, body: 'oops' })],
    ['not JSON', () => ({ status: 200, body: '<html>' })],
    ['JSON without success', () => ({ status: 200, body: { ok: true } })],
    ['no answer in time', () => 'hang']
  ]
  for (const [name, answer] of answers) {
    fake.answer = answer
    const started = Date.now()
    const res = await app.app.inject({ method: 'POST', url: '/login', payload: { phone, captchaToken: good } })
    t.equal(res.statusCode, 503, name)
    t.equal(res.json().code, 'OTP_CAPTCHA_UNAVAILABLE')
    t.ok(Date.now() - started < 2000, 'within the timeout')
  }
  // Nothing listens on port 1: the connection is refused.
  const down = await buildApp(t, 'memory', { captcha: { provider: 'hcaptcha', secret, siteverifyUrl: 'http://127.0.0.1:1/siteverify' } })
  t.equal((await down.login(phone)).statusCode, 400, 'still a missing token first')
  const res = await down.app.inject({ method: 'POST', url: '/login', payload: { phone, captchaToken: good } })
  t.equal(res.json().code, 'OTP_CAPTCHA_UNAVAILABLE', 'a refused connection')
  t.equal(app.sent.length + down.sent.length, 0, 'nothing was sent')
  fake.answer = siteverify
  t.equal((await app.app.inject({ method: 'POST', url: '/login', payload: { phone, captchaToken: good } })).statusCode, 200, 'maxSends 1: the outage counted no send')
})

t.test('a custom verify, and trusted devices skip the captcha', async (t) => {
  const seen: string[] = []
  const app = await buildApp(t, 'memory', {
    resendInterval: 0,
    captcha: { verify: async (token) => { seen.push(token); if (token === 'boom') throw new Error(`down, token ${token}`); return token === 'human' } }
  })
  t.equal((await app.app.inject({ method: 'POST', url: '/login', payload: { phone, captchaToken: 'robot' } })).json().code, 'OTP_CAPTCHA_INVALID')
  t.equal((await app.app.inject({ method: 'POST', url: '/login', payload: { phone, captchaToken: 'boom' } })).json().code, 'OTP_CAPTCHA_UNAVAILABLE')
  t.equal((await app.app.inject({ method: 'POST', url: '/login', payload: { phone, captchaToken: 'human' } })).statusCode, 200)
  const { deviceToken } = (await app.verify(phone, app.codeFor(phone))).json()
  seen.splice(0)
  t.equal((await app.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken } })).statusCode, 200, 'a trusted device needs none')
  t.same(seen, [])
  const strict = await buildApp(t, 'memory', { captcha: { verify: () => true, skipTrustedDevices: false } })
  await strict.app.inject({ method: 'POST', url: '/login', payload: { phone, captchaToken: 'a' } })
  const token = (await strict.verify(phone, strict.codeFor(phone))).json().deviceToken
  t.equal((await strict.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken: token } })).json().code, 'OTP_CAPTCHA_INVALID', 'skipTrustedDevices: false')
})

t.test('captcha options are checked at registration', async (t) => {
  const base = { jwt: { secret: 'a-jwt-secret-that-is-long-enough-0000' }, send: () => {} }
  await t.rejects(readyWith({ ...base, captcha: { provider: 'recaptcha', secret } }), /captcha.provider/)
  await t.rejects(readyWith({ ...base, captcha: { provider: 'turnstile' } }), /captcha.secret/)
  await t.rejects(readyWith({ ...base, captcha: { provider: 'turnstile', secret, siteverifyUrl: 'ftp://x' } }), /captcha.siteverifyUrl/)
  await t.rejects(readyWith({ ...base, captcha: { provider: 'turnstile', secret, timeout: 5 } }), /captcha.timeout/)
  await t.rejects(readyWith({ ...base, captcha: { verify: 'yes' } }), /captcha.verify/)
  await t.rejects(readyWith({ ...base, captcha: { verify: () => true, secret } }), /does not go with/)
  await t.rejects(readyWith({ ...base, captcha: { provider: 'turnstile', secret, extra: 1 } }), /unknown option "captcha.extra"/)
  const error = await readyWith({ ...base, captcha: { provider: 'nope', secret } }).catch((err: Error) => err)
  t.notMatch(String(error), secret, 'the secret is not echoed')
})
