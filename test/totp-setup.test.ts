import QRCode from 'qrcode'
import t from 'tap'
import { buildApp, identifierKinds, identifiers, storeKinds } from './helpers/app.js'
import { STEP_MS, TOTP_KEY, buildTotpApp, codeAt } from './helpers/totp.js'

for (const kind of storeKinds) {
  for (const idKind of identifierKinds) {
    const ids = identifiers(idKind)
    const id = ids.a
    t.test(`${kind} store, ${idKind}: setting up an authenticator`, async (t) => {
      t.test('setup: a 160-bit secret, its otpauth URL and a QR code of that URL', async (t) => {
        const { accessFor, setup } = await buildTotpApp(t, kind, { ...ids.options, totpIssuer: 'Acme Shop' })
        const res = await setup(await accessFor(id))
        t.equal(res.statusCode, 200)
        const body = res.json()
        t.same(Object.keys(body).sort(), ['otpauthUrl', 'qrCode', 'secret'])
        t.match(body.secret, /^[A-Z2-7]{32}$/, '32 base32 characters: 160 bits')
        const url = new URL(body.otpauthUrl)
        t.equal(url.protocol, 'otpauth:')
        t.equal(url.host, 'totp')
        t.equal(decodeURIComponent(url.pathname), `/Acme Shop:${id}`, 'label: issuer and account name')
        t.equal(url.searchParams.get('issuer'), 'Acme Shop')
        t.equal(url.searchParams.get('secret'), body.secret)
        t.equal(url.searchParams.get('algorithm'), 'SHA1')
        t.equal(url.searchParams.get('digits'), '6')
        t.equal(url.searchParams.get('period'), '30')
        t.match(body.qrCode, /^data:image\/svg\+xml;base64,/)
        const svg = Buffer.from(body.qrCode.split(',')[1], 'base64').toString()
        t.match(svg, /^<svg /)
        const expected = await QRCode.toString(body.otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
        t.equal(svg, expected, 'the QR code encodes exactly the otpauth URL')
      })

      t.test('confirm: a right code turns it on and returns 10 distinct recovery codes', async (t) => {
        const { accessFor, setup, confirm, step } = await buildTotpApp(t, kind, ids.options)
        const access = await accessFor(id)
        const { secret } = (await setup(access)).json()
        const res = await confirm(access, codeAt(secret, step()))
        t.equal(res.statusCode, 200)
        const { recoveryCodes } = res.json()
        t.equal(recoveryCodes.length, 10)
        t.equal(new Set(recoveryCodes).size, 10)
        for (const code of recoveryCodes) t.match(code, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/)
      })

      t.test('TOTP is off until confirmed; a wrong confirmation changes nothing', async (t) => {
        const { accessFor, setup, confirm, verifyTotp, step, clock } = await buildTotpApp(t, kind, ids.options)
        const access = await accessFor(id)
        const { secret } = (await setup(access)).json()
        t.equal((await verifyTotp(id, codeAt(secret, step()))).statusCode, 401, 'a pending secret does not log in')
        const wrong = await confirm(access, codeAt(secret, step() + 2))
        t.equal(wrong.statusCode, 401)
        t.equal(wrong.json().code, 'OTP_INVALID')
        clock.now += STEP_MS
        t.equal((await confirm(access, codeAt(secret, step()))).statusCode, 200, 'still pending after a wrong code')
      })

      t.test('the code that confirmed cannot log in; the next step can', async (t) => {
        const { accessFor, setup, confirm, verifyTotp, step, clock } = await buildTotpApp(t, kind, ids.options)
        const access = await accessFor(id)
        const { secret } = (await setup(access)).json()
        const code = codeAt(secret, step())
        await confirm(access, code)
        t.equal((await verifyTotp(id, code)).statusCode, 401)
        clock.now += STEP_MS
        t.equal((await verifyTotp(id, codeAt(secret, step()))).statusCode, 200)
      })

      t.test('a second setup replaces an unconfirmed one', async (t) => {
        const { accessFor, setup, confirm, step } = await buildTotpApp(t, kind, ids.options)
        const access = await accessFor(id)
        const first = (await setup(access)).json().secret
        const second = (await setup(access)).json().secret
        t.not(first, second)
        t.equal((await confirm(access, codeAt(first, step()))).statusCode, 401, 'the first secret is gone')
        t.equal((await confirm(access, codeAt(second, step()))).statusCode, 200)
      })

      t.test('409s: setup while on, confirm with nothing pending or while on', async (t) => {
        const { accessFor, setup, confirm, enable, step } = await buildTotpApp(t, kind, ids.options)
        const early = await confirm(await accessFor(id), '123456')
        t.equal(early.statusCode, 409)
        t.equal(early.json().code, 'OTP_TOTP_NOT_PENDING')
        const { access, secret } = await enable(id)
        const again = await setup(access)
        t.equal(again.statusCode, 409)
        t.equal(again.json().code, 'OTP_TOTP_ALREADY_ENABLED')
        const reconfirm = await confirm(access, codeAt(secret, step()))
        t.equal(reconfirm.json().code, 'OTP_TOTP_ALREADY_ENABLED')
      })

      t.test('disable: 204, then /verify-totp and recovery codes are refused; a new setup works', async (t) => {
        const { disable, verifyTotp, verifyRecovery, setup, enable, step } = await buildTotpApp(t, kind, ids.options)
        const { access, secret, recoveryCodes } = await enable(id)
        const res = await disable(access)
        t.equal(res.statusCode, 204)
        t.equal(res.body, '')
        t.equal((await verifyTotp(id, codeAt(secret, step()))).json().code, 'OTP_INVALID')
        t.equal((await verifyRecovery(id, recoveryCodes[0] ?? '')).json().code, 'OTP_INVALID')
        t.equal((await disable(access)).statusCode, 204, 'turning off what is off is fine')
        t.equal((await setup(access)).statusCode, 200, 'a new setup can start')
      })

      t.test('every route needs a valid access token', async (t) => {
        const { app } = await buildTotpApp(t, kind, ids.options)
        for (const [method, url] of [['POST', '/totp/setup'], ['POST', '/totp/confirm'], ['DELETE', '/totp']] as const) {
          const none = await app.inject({ method, url, payload: method === 'POST' ? { otp: '123456' } : undefined })
          t.equal(none.statusCode, 401, `${method} ${url} without a token`)
          t.equal(none.json().code, 'FST_JWT_NO_AUTHORIZATION_IN_HEADER')
          const bad = await app.inject({ method, url, headers: { authorization: 'Bearer nope' } })
          t.equal(bad.statusCode, 401, `${method} ${url} with a bad token`)
        }
      })
    })
  }
}

t.test('an authenticator belongs to the identifier of the token that set it up', async (t) => {
  const { accessFor, setup, confirm, verifyTotp, step, clock } = await buildTotpApp(t, 'memory')
  const access = await accessFor('+919876543210')
  const { secret } = (await setup(access)).json()
  await confirm(access, codeAt(secret, step()))
  clock.now += STEP_MS
  t.equal((await verifyTotp('+919876543211', codeAt(secret, step()))).statusCode, 401, 'not for another number')
  t.equal((await verifyTotp('9876543210', codeAt(secret, step()))).statusCode, 400, 'the number is read as at /login')
  t.equal((await verifyTotp('+91 98765 43210', codeAt(secret, step()))).statusCode, 200, 'in any format that reads as it')
})

t.test('a token with neither phone nor e-mail gets 403 OTP_TOTP_NO_IDENTIFIER (sessions off), 401 with sessions', async (t) => {
  // With sessions off, app.authenticate accepts any token its key signed: setup must still find an identifier.
  const stateless = await buildApp(t, 'memory', { totpEncryptionKey: TOTP_KEY, totpMode: 'alternative', refreshTokenTtl: false })
  const token = stateless.app.jwt.sign({ sub: 'u1', auth_time: Math.floor(Date.now() / 1000) })
  const res = await stateless.app.inject({ method: 'POST', url: '/totp/setup', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'OTP_TOTP_NO_IDENTIFIER')
  // With sessions on, a token without the plugin's session never gets that far.
  const { app } = await buildApp(t, 'memory', { totpEncryptionKey: TOTP_KEY })
  const foreign = app.jwt.sign({ sub: 'u1' })
  const refused = await app.inject({ method: 'POST', url: '/totp/setup', headers: { authorization: `Bearer ${foreign}` } })
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED')
})

t.test('confirm validates its body', async (t) => {
  const { app, accessFor } = await buildTotpApp(t, 'memory')
  const access = await accessFor('+919876543210')
  for (const payload of [{}, { otp: 123456 }, { otp: '12345' }, { otp: '1234567' }, { otp: '12345a' }, { otp: '123456', x: 1 }]) {
    const res = await app.inject({ method: 'POST', url: '/totp/confirm', headers: { authorization: `Bearer ${access}` }, payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().code, 'FST_ERR_VALIDATION')
  }
})

t.test('without totpEncryptionKey there are no TOTP routes', async (t) => {
  const { app } = await buildApp(t, 'memory')
  for (const [method, url] of [['POST', '/totp/setup'], ['POST', '/totp/confirm'], ['DELETE', '/totp'], ['POST', '/verify-totp'], ['POST', '/verify-recovery']] as const) {
    t.equal((await app.inject({ method, url })).statusCode, 404, `${method} ${url}`)
  }
})
