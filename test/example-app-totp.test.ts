import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { SendArgs } from '../lib/index.js'
import { STEP_MS, codeAt } from './helpers/totp.js'

// The example app's authenticator as a second factor, on the real clock: codes one step apart stay within the
// allowed drift. Enrolment needs a fresh sign-in; then a right SMS code gives only an mfaToken.
t.test('the example app: set up an authenticator, then sign in with SMS code + authenticator, or + recovery code', async (t) => {
  const codes: string[] = []
  const examplePath = '../example-app/app.mjs'
  const { buildExampleApp } = await import(examplePath) as {
    buildExampleApp: (o: { send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
  }
  const app = await buildExampleApp({ send: ({ code }) => { codes.push(code) }, logger: false })
  t.teardown(() => app.close())

  const page = (await app.inject({ url: '/' })).body
  for (const route of ['/api/auth/totp/setup', '/api/auth/totp/confirm', '/api/auth/verify-totp', '/api/auth/verify-recovery']) {
    t.match(page, route, `the page uses ${route}`)
  }
  t.match(page, 'mfaToken', 'the page sends the mfaToken of the first step')

  const phone = '+919876543210'
  const firstFactor = async (): Promise<Record<string, unknown>> => {
    t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })).statusCode, 200)
    const verified = await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codes.at(-1) } })
    t.equal(verified.statusCode, 200)
    return verified.json()
  }

  // The host's GET /api/account tells whether the user's authenticator is on, to a signed-in user only.
  const account = async (authorization?: string): Promise<{ statusCode: number, body: unknown }> => {
    const res = await app.inject({ url: '/api/account', headers: authorization === undefined ? {} : { authorization } })
    return { statusCode: res.statusCode, body: res.json() }
  }
  t.match(await account(), { statusCode: 401, body: { code: /^FST_JWT_/ } }, 'no token: 401')

  // A fresh sign-in sets up and confirms the authenticator.
  const { access } = await firstFactor()
  const authorization = `Bearer ${String(access)}`
  t.same(await account(authorization), { statusCode: 200, body: { authenticator: { enabled: false } } }, 'off before the setup')
  const setup = await app.inject({ method: 'POST', url: '/api/auth/totp/setup', headers: { authorization } })
  t.equal(setup.statusCode, 200)
  t.same((await account(authorization)).body, { authenticator: { enabled: false } }, 'still off while the setup waits for its code')
  const { secret, otpauthUrl } = setup.json()
  t.match(otpauthUrl, /^otpauth:\/\/totp\/fastify-otp-login%20example:/)
  const step = Math.floor(Date.now() / STEP_MS)
  const confirmed = await app.inject({ method: 'POST', url: '/api/auth/totp/confirm', headers: { authorization }, payload: { otp: codeAt(secret, step) } })
  t.equal(confirmed.statusCode, 200)
  const { recoveryCodes } = confirmed.json()
  t.equal(recoveryCodes.length, 10)
  t.same((await account(authorization)).body, { authenticator: { enabled: true } }, 'on once confirmed')

  // The SMS code alone now gives no tokens; the authenticator's code with the mfaToken does.
  const first = await firstFactor()
  t.match(first, { mfaRequired: true, mfaToken: String, mfaExpiresIn: 300 })
  t.notOk('access' in first, 'no access token after the first factor')
  const oldBody = await app.inject({ method: 'POST', url: '/api/auth/verify-totp', payload: { phone, otp: codeAt(secret, step + 1) } })
  t.equal(oldBody.statusCode, 400, 'the { phone, otp } body of alternative mode is refused')
  const totp = await app.inject({ method: 'POST', url: '/api/auth/verify-totp', payload: { mfaToken: first.mfaToken, otp: codeAt(secret, step + 1) } })
  t.equal(totp.statusCode, 200)
  t.ok(totp.cookies.some((c) => c.name === '__Host-otp_refresh'), 'the refresh cookie is set once the sign-in is complete')
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${totp.json().access}` } })
  t.match(me.json().user, { phone })
  t.same(me.json().user.amr, ['sms', 'otp', 'mfa'])
  const reused = await app.inject({ method: 'POST', url: '/api/auth/verify-totp', payload: { mfaToken: first.mfaToken, otp: codeAt(secret, step + 1) } })
  t.equal(reused.json().code, 'OTP_MFA_TOKEN_INVALID', 'an mfaToken is single use')

  // A recovery code as the second factor, once.
  const again = await firstFactor()
  const recovery = await app.inject({ method: 'POST', url: '/api/auth/verify-recovery', payload: { mfaToken: again.mfaToken, code: recoveryCodes[0] } })
  t.equal(recovery.statusCode, 200)
  const recoveredMe = await app.inject({ url: '/me', headers: { authorization: `Bearer ${recovery.json().access}` } })
  t.match(recoveredMe.json().user, { phone })
  t.same(recoveredMe.json().user.amr, ['sms', 'recovery', 'mfa'])

  // Turning it off, with the fresh token of the recovery sign-in; then the SMS code alone signs in again.
  t.equal((await app.inject({ method: 'DELETE', url: '/api/auth/totp', headers: { authorization: `Bearer ${recovery.json().access}` } })).statusCode, 204)
  t.same((await account(`Bearer ${recovery.json().access}`)).body, { authenticator: { enabled: false } }, 'off once turned off')
  const plain = await firstFactor()
  t.ok(plain.access, 'without an authenticator, /verify-otp gives tokens')
})
