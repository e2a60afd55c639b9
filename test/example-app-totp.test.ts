import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { SendArgs } from '../lib/index.js'
import { STEP_MS, codeAt } from './helpers/totp.js'

// The example app's authenticator step, on the real clock: codes one step apart stay within the allowed drift.
t.test('the example app: set up an authenticator, then log in with it and with a recovery code', async (t) => {
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

  const phone = '+919876543210'
  await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })
  const { access } = (await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codes[0] } })).json()
  const authorization = `Bearer ${access}`
  const setup = await app.inject({ method: 'POST', url: '/api/auth/totp/setup', headers: { authorization } })
  t.equal(setup.statusCode, 200)
  const { secret, otpauthUrl } = setup.json()
  t.match(otpauthUrl, /^otpauth:\/\/totp\/fastify-otp-login%20example:/)
  const step = Math.floor(Date.now() / STEP_MS)
  const confirmed = await app.inject({ method: 'POST', url: '/api/auth/totp/confirm', headers: { authorization }, payload: { otp: codeAt(secret, step) } })
  t.equal(confirmed.statusCode, 200)
  const { recoveryCodes } = confirmed.json()

  const totp = await app.inject({ method: 'POST', url: '/api/auth/verify-totp', payload: { phone, otp: codeAt(secret, step + 1) } })
  t.equal(totp.statusCode, 200)
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${totp.json().access}` } })
  t.equal(me.json().user.phone, phone)
  const recovery = await app.inject({ method: 'POST', url: '/api/auth/verify-recovery', payload: { phone, code: recoveryCodes[0] } })
  t.equal(recovery.statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/api/auth/totp', headers: { authorization } })).statusCode, 204)
})
