import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { DeviceTokens } from '../lib/devices.js'
import { SendError, type OtpEvent, type OtpLoginOptions } from '../lib/index.js'
import { CODE_SECRET, buildApp, everyStore, readyWith, type StoreKind } from './helpers/app.js'

// One ceiling of codes per identifier per `lockout` window (maxSendsPerIdentifier), across all its devices.
const phone = '+919876543210'
// Device tokens as whoever owns the number gets them, one per sign-in; made here directly, since each sign-in
// would itself cost a code of the window.
const minted = new DeviceTokens(CODE_SECRET, 86_400)
const tokens = Array.from({ length: 5 }, () => minted.issue(phone))

async function ceilingApp (t: Parameters<typeof buildApp>[0], kind: StoreKind, options: Partial<OtpLoginOptions> = {}) {
  const app = await buildApp(t, kind, { codeSecret: CODE_SECRET, resendInterval: 0, ...options })
  const login = async (deviceToken?: string, extra: Record<string, unknown> = {}): Promise<LightMyRequestResponse> =>
    await app.app.inject({ method: 'POST', url: '/login', payload: { phone, ...(deviceToken === undefined ? {} : { deviceToken }), ...extra } })
  return { ...app, login }
}

for (const kind of everyStore) {
  t.test(`${kind} store: 5 device tokens get no more than the ceiling (3 × maxSends) in one window`, async (t) => {
    const events: OtpEvent[] = []
    const app = await ceilingApp(t, kind, { onEvent: (event) => { events.push(event) } }) // maxSends 3
    const answers: LightMyRequestResponse[] = []
    for (const token of [undefined, ...tokens]) {
      for (let i = 0; i < 3; i++) answers.push(await app.login(token))
    }
    t.equal(app.sent.length, 9, 'nine codes, where each device counting alone gave 18')
    t.equal(answers.filter((r) => r.statusCode === 200).length, 9)
    const refused = answers.filter((r) => r.statusCode !== 200)
    t.equal(refused.length, 9)
    t.ok(refused.every((r) => r.statusCode === 429 && r.json().code === 'OTP_LOCKED'), '429 OTP_LOCKED')
    t.ok(refused.every((r) => Number(r.headers['retry-after']) > 3500 && Number(r.headers['retry-after']) <= 3600), 'until the window ends')
    t.equal(events.filter((e) => e.type === 'code-refused' && e.reason === 'max-sends-per-identifier').length, 9, 'an event names it')

    // tokens[1] got the last code: signing in with it resets its device's counters, not the ceiling.
    const verified = await app.app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: app.codeFor(phone), deviceToken: tokens[1] } })
    t.equal(verified.statusCode, 200, 'the codes sent work')
    t.equal((await app.login(tokens[1])).json().code, 'OTP_LOCKED', 'a sign-in does not reset the ceiling')
    t.equal(app.sent.length, 9)
  })

  t.test(`${kind} store: 30 parallel logins over 5 device tokens, maxSendsPerIdentifier codes`, async (t) => {
    const app = await ceilingApp(t, kind, { maxSends: 3, maxSendsPerIdentifier: 4 })
    const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => await app.login(tokens[i % 5])))
    t.equal(app.sent.length, 4)
    t.equal(answers.filter((r) => r.statusCode === 200).length, 4)
    t.equal(answers.filter((r) => r.json().code === 'OTP_LOCKED').length, 26)
  })

  t.test(`${kind} store: a device token skips the captcha only within the ceiling`, async (t) => {
    const seen: string[] = []
    const app = await ceilingApp(t, kind, {
      maxSends: 1,
      maxSendsPerIdentifier: 2,
      captcha: { verify: (token) => { seen.push(token); return token === 'human' } }
    })
    t.equal((await app.login(tokens[0])).statusCode, 200, 'within: no captcha')
    t.equal((await app.login(tokens[1])).statusCode, 200, 'within: no captcha (2 of 2)')
    t.same(seen, [], 'none was asked for')
    const missing = await app.login(tokens[2])
    t.equal(missing.statusCode, 400, 'at the ceiling a device token needs the captcha')
    t.equal(missing.json().code, 'OTP_CAPTCHA_INVALID')
    t.equal((await app.login(tokens[2], { captchaToken: 'robot' })).json().code, 'OTP_CAPTCHA_INVALID', 'and a solved one')
    const human = await app.login(tokens[2], { captchaToken: 'human' })
    t.equal(human.statusCode, 429, 'solved: the ceiling answers')
    t.equal(human.json().code, 'OTP_LOCKED')
    t.same(seen, ['robot', 'human'])
    t.equal((await app.login(undefined, { captchaToken: 'human' })).json().code, 'OTP_LOCKED', 'the identifier itself is at the ceiling too')
    t.equal(app.sent.length, 2)
  })

  t.test(`${kind} store: a send that surely failed gives back its place under the ceiling`, async (t) => {
    let fail: Error | undefined = new Error('provider down')
    const delivered: string[] = []
    const app = await ceilingApp(t, kind, {
      maxSends: 3,
      maxSendsPerIdentifier: 3,
      send: ({ code }) => { if (fail !== undefined) throw fail; delivered.push(code) }
    })
    t.equal((await app.login(tokens[0])).json().code, 'OTP_DELIVERY_FAILED')
    fail = undefined
    for (const token of tokens.slice(0, 3)) t.equal((await app.login(token)).statusCode, 200, 'the refused send counted nothing')
    t.equal((await app.login(tokens[3])).json().code, 'OTP_LOCKED', 'three delivered: the ceiling')
    t.equal(delivered.length, 3)

    const other = await ceilingApp(t, kind, {
      maxSends: 2,
      maxSendsPerIdentifier: 2,
      send: () => { throw new SendError('Twilio', 'timed out', { outcome: 'unknown' }) }
    })
    t.equal((await other.login(tokens[0])).json().code, 'OTP_DELIVERY_FAILED')
    t.equal((await other.login(tokens[1])).json().code, 'OTP_DELIVERY_FAILED')
    t.equal((await other.login(tokens[2])).json().code, 'OTP_LOCKED', 'one that may have been delivered still counts')
  })
}

t.test('maxSendsPerIdentifier: at least maxSends; an integer', async (t) => {
  const base = { jwt: { secret: 'a-jwt-secret-that-is-long-enough-0000' }, send: () => {} }
  await t.rejects(readyWith({ ...base, maxSends: 3, maxSendsPerIdentifier: 2 }), /option "maxSendsPerIdentifier" must be at least maxSends \(3\)/)
  await t.rejects(readyWith({ ...base, maxSendsPerIdentifier: 2 }), /at least maxSends \(3\)/, 'against the default maxSends')
  await t.rejects(readyWith({ ...base, maxSendsPerIdentifier: 4.5 }), /option "maxSendsPerIdentifier" must be an integer/)
  await t.resolves(readyWith({ ...base, maxSends: 3, maxSendsPerIdentifier: 3 }), 'equal to maxSends')
})
