import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { DeviceTokens } from '../lib/devices.js'
import { MemoryStore, MemoryTotpStore, type OtpEvent, type OtpLoginOptions } from '../lib/index.js'
import { CODE_SECRET, everyStore, freshCluster, freshRedis, wrongCode, type StoreKind } from './helpers/app.js'
import { manualClock, redisClock, type TestClock } from './helpers/clock.js'
import { buildTotpApp, codeAt, type TotpTestApp } from './helpers/totp.js'

const phone = '+919876543210'

/** The test app on `kind`'s store, with the clock that moves that store's time (see clock.ts). */
async function timedApp (t: Parameters<typeof buildTotpApp>[0], kind: StoreKind, options: Partial<OtpLoginOptions>): Promise<{ app: TotpTestApp, clock: TestClock }> {
  if (kind === 'memory') {
    const clock = manualClock()
    const store = new MemoryStore({ now: clock.now })
    t.teardown(() => store.close())
    return { app: await buildTotpApp(t, 'memory', { store, totpStore: new MemoryTotpStore(), codeSecret: CODE_SECRET, ...options }), clock }
  }
  const redis = kind === 'redis' ? await freshRedis() : await freshCluster()
  return { app: await buildTotpApp(t, 'memory', { redis, codeSecret: CODE_SECRET, ...options }), clock: redisClock(redis) }
}

for (const kind of everyStore) {
  t.test(`${kind} store: the failure window slides, across /verify-otp, /verify-totp and /verify-recovery`, async (t) => {
    // maxFailures 3 in any 60 s. A window fixed at the first failure would end at 60 s and let the guess at 70 s
    // through (a new window); a sliding one (60 s from the last failure, at 40 s) locks at that third guess. The
    // store's clock is moved, so the gaps (20 s, 30 s) are far from anything a slow machine adds.
    const events: OtpEvent[] = []
    const { app, clock } = await timedApp(t, kind, { maxFailures: 3, lockout: 60, maxAttempts: 100, onEvent: (e) => { events.push(e) } })
    await app.login(phone)
    const code = app.codeFor(phone)
    t.equal((await app.verify(phone, wrongCode(code))).json().code, 'OTP_INVALID')
    await clock.advance(40_000)
    t.equal((await app.verifyTotp(phone, '000000')).json().code, 'OTP_INVALID')
    await clock.advance(30_000)
    const third = await app.verifyRecovery(phone, 'aaaaa-aaaaa')
    t.equal(third.json().code, 'OTP_LOCKED', 'the third failure within 60 s of the one before locks (and 70 s after the first)')
    t.equal((await app.verify(phone, code)).json().code, 'OTP_LOCKED', 'even the right code, unchecked')
    const checked = events.filter((e) => (e.type === 'verify-failed' && e.reason === 'invalid') || e.type === 'locked-out')
    t.equal(checked.length, 3, 'three guesses were checked, no more')
  })

  t.test(`${kind} store: parallel submissions of one right authenticator code never lock anyone out`, async (t) => {
    const app = await buildTotpApp(t, kind, { maxFailures: 10 })
    const { secret } = await app.enable(phone)
    const code = codeAt(secret, app.step())
    const results = await Promise.all(Array.from({ length: 20 }, async () => await app.verifyTotp(phone, code)))
    t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'one sign-in')
    t.equal(results.filter((r) => r.json().code === 'OTP_LOCKED').length, 0, 'no lockout, and no answer that says so')
    t.ok(results.every((r) => r.json().code !== 'OTP_GUESS_PENDING' || r.headers['retry-after'] === '1'), 'guesses refused in flight: Retry-After: 1')
    await app.login(phone)
    t.equal((await app.verify(phone, app.codeFor(phone))).statusCode, 200, 'the owner signs in right after')
    t.equal((await app.verifyTotp(phone, codeAt(secret, app.step() + 1))).statusCode, 200, 'and with the next code')
  })
}

// The second step of a second-factor sign-in counts on the same sliding window (challenge-reserve.lua, and
// MemoryCodeStore's reserve): each route alone, as the test above does across routes.
for (const kind of everyStore) {
  for (const route of ['verify-totp', 'verify-recovery'] as const) {
    t.test(`${kind} store: second-factor mode, the failure window of /${route} slides`, async (t) => {
      // maxFailures 3 in any 60 s, as above: the third failure is 70 s after the first, 30 s after the second.
      const { app, clock } = await timedApp(t, kind, { totpMode: 'second-factor', maxFailures: 3, lockout: 60, maxAttempts: 100 })
      const other = '+919876543211'
      const { secret } = await app.enable(phone)
      await app.enable(other)
      const wrong = wrongCode(codeAt(secret, app.step()))
      const guess = async (mfaToken: string) => route === 'verify-totp' ? await app.mfaTotp(mfaToken, wrong) : await app.mfaRecovery(mfaToken, 'aaaaa-aaaaa')
      const { mfaToken } = (await app.firstFactor(phone)).json()
      const { mfaToken: otherToken } = (await app.firstFactor(other)).json()

      t.equal((await guess(mfaToken)).json().code, 'OTP_INVALID')
      await clock.advance(40_000)
      t.equal((await guess(mfaToken)).json().code, 'OTP_INVALID')
      t.equal((await guess(otherToken)).json().code, 'OTP_INVALID', 'another number: one failure at 40 s')
      t.equal((await guess(otherToken)).json().code, 'OTP_INVALID', 'and a second')
      await clock.advance(30_000)
      const third = await guess(mfaToken)
      t.equal(third.json().code, 'OTP_LOCKED', 'the third failure within 60 s of the one before locks (70 s after the first)')
      t.ok(Number(third.headers['retry-after']) > 55, 'for the lockout')
      t.equal((await app.login(phone)).json().code, 'OTP_LOCKED', 'the number is locked out')

      await clock.advance(30_000)
      t.equal((await guess(otherToken)).json().code, 'OTP_INVALID', 'a pause of 60 s since the last failure ends the count')
      t.equal((await guess(otherToken)).json().code, 'OTP_INVALID', 'two in the new window')
    })
  }
}

for (const kind of everyStore) {
  t.test(`${kind} store: trusted devices are not locked out by a stranger`, async (t) => {
    const options = { totpMode: 'alternative' as const, maxSends: 3, maxFailures: 4, maxAttempts: 100 }
    /** The owner signs in once on their phone: its device token. */
    const owner = async (app: Awaited<ReturnType<typeof buildTotpApp>>): Promise<string> => {
      await app.login(phone)
      const body = (await app.verify(phone, app.codeFor(phone))).json()
      t.match(body.deviceToken, /^[A-Za-z0-9_-]{22}\.[0-9]+\.[A-Za-z0-9_-]{43}$/)
      return body.deviceToken
    }
    const withDevice = async (app: Awaited<ReturnType<typeof buildTotpApp>>, deviceToken: string) => {
      const sent = await app.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken } })
      t.equal(sent.statusCode, 200, 'the device gets a code')
      const res = await app.app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: app.codeFor(phone), deviceToken } })
      t.equal(res.statusCode, 200, 'and signs in with it')
      return res.json()
    }

    const attacks: Array<[string, (app: Awaited<ReturnType<typeof buildTotpApp>>) => Promise<void>]> = [
      ['maxSends /login calls', async (app) => { for (let i = 0; i < 4; i++) await app.login(phone) }],
      ['maxFailures wrong codes', async (app) => {
        await app.login(phone)
        for (let i = 0; i < 4; i++) await app.verify(phone, wrongCode(app.codeFor(phone)))
      }],
      ['maxFailures /verify-totp calls for a number without an authenticator', async (app) => {
        for (let i = 0; i < 4; i++) await app.verifyTotp(phone, '123456')
      }]
    ]
    for (const [name, attack] of attacks) {
      t.test(`lockout by ${name}`, async (t) => {
        // (Built first: a new app on Redis empties the test database.)
        const other = await buildTotpApp(t, kind, options)
        await other.login('+919876543211')
        const foreign = (await other.verify('+919876543211', other.codeFor('+919876543211'))).json().deviceToken
        const app = await buildTotpApp(t, kind, options)
        const deviceToken = await owner(app)
        await attack(app)
        const locked = await app.login(phone)
        t.equal(locked.json().code, 'OTP_LOCKED', 'the number is locked out for everyone else')
        const body = await withDevice(app, deviceToken)
        t.ok(body.access, 'the trusted device signs in')
        t.equal((await app.login(phone)).json().code, 'OTP_LOCKED', 'without the device token the lockout holds')
        // A device token of another number, a tampered one and an expired one count as none.
        const [id, expiry, mac] = String(body.deviceToken).split('.')
        for (const token of [foreign, `${id}.${Number(expiry) + 1}.${mac}`, `${id}.1.${mac}`, 'junk']) {
          const res = await app.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken: token } })
          t.equal(res.json().code, 'OTP_LOCKED', `ignored: ${String(token).slice(0, 30)} ${res.body}`)
        }
      })
    }

    t.test('a stolen device token adds at most maxFailures guesses per window, and locks out only itself', async (t) => {
      const app = await buildTotpApp(t, kind, options)
      const deviceToken = await owner(app)
      let checked = 0
      for (let i = 0; i < 20; i++) {
        const res = await app.app.inject({ method: 'POST', url: '/verify-totp', payload: { phone, otp: String(100000 + i), deviceToken } })
        if (res.json().code === 'OTP_INVALID') checked++
      }
      t.equal(checked, options.maxFailures - 1, 'the device: maxFailures guesses, the last one locking it')
      for (let i = 0; i < 20; i++) {
        const res = await app.verifyTotp(phone, String(200000 + i))
        if (res.json().code === 'OTP_INVALID') checked++
      }
      t.equal(checked, 2 * (options.maxFailures - 1), 'the number: its own maxFailures, no more')
      const again = await app.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken } })
      t.equal(again.json().code, 'OTP_LOCKED', 'the device locked itself out')
      await app.login(phone)
      const token2 = (await app.app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: app.codeFor(phone) } })).json()
      t.equal(token2.code, 'OTP_LOCKED', 'the number itself is locked by the guesses against it')
    })
  })
}

t.test('trustedDevices: false gives no device tokens and refuses the field', async (t) => {
  const app = await buildTotpApp(t, 'memory', { trustedDevices: false })
  await app.login(phone)
  const body = (await app.verify(phone, app.codeFor(phone))).json()
  t.notOk('deviceToken' in body)
  const res = await app.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken: 'x' } })
  t.equal(res.json().code, 'FST_ERR_VALIDATION')
})

t.test('trustedDevices.ttl: an expired device token is ignored', async (t) => {
  const app = await buildTotpApp(t, 'memory', { trustedDevices: { ttl: 1 }, maxSends: 1, resendInterval: 0 })
  await app.login(phone)
  const { deviceToken } = (await app.verify(phone, app.codeFor(phone))).json()
  await app.login(phone)
  t.equal((await app.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken } })).statusCode, 200, 'valid: its own window')
  await sleep(2100) // a 1 s token lives 1 to 2 s: its expiry is rounded up to a whole second
  t.equal((await app.app.inject({ method: 'POST', url: '/login', payload: { phone, deviceToken } })).json().code, 'OTP_LOCKED', 'expired: none')
})

t.test('a device token lives at least its ttl, however late in a second it is made', async (t) => {
  let now = 1_800_000_000_999 // the last millisecond of a second
  const devices = new DeviceTokens('a-code-secret-that-is-long-enough-0123456789', 1, () => now)
  const token = devices.issue(phone)
  now += 999
  t.type(devices.read(phone, token), 'string', 'still valid 999 ms later')
  now = 1_800_000_002_000
  t.equal(devices.read(phone, token), undefined, 'expired once its rounded-up second has passed')
})
