import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { SendArgs } from '../lib/index.js'
import { STEP_MS, codeAt } from './helpers/totp.js'

// The example app keeps authenticators in a SQLite file (as `npm start` does): one set up before a restart
// still guards the account after it, and its code still verifies (the encryption key is kept beside the file).
t.test('the example app: an authenticator set up before a restart is still required and works after it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otp-example-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const credentialsFile = join(dir, 'data', 'credentials.sqlite')
  const saved = process.env.TOTP_ENCRYPTION_KEY
  delete process.env.TOTP_ENCRYPTION_KEY
  t.teardown(() => { if (saved !== undefined) process.env.TOTP_ENCRYPTION_KEY = saved })

  const codes: string[] = []
  const examplePath = '../example-app/app.mjs' // a plain .mjs file: no types to resolve
  const { buildExampleApp } = await import(examplePath) as {
    buildExampleApp: (o: { credentialsFile: string, send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
  }
  const start = async (): Promise<FastifyInstance> =>
    await buildExampleApp({ credentialsFile, send: ({ code }) => { codes.push(code) }, logger: false })
  const phone = '+919876543210'
  const firstFactor = async (app: FastifyInstance): Promise<Record<string, unknown>> => {
    t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })).statusCode, 200)
    const verified = await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codes.at(-1) } })
    t.equal(verified.statusCode, 200)
    return verified.json()
  }

  const before = await start()
  const { access } = await firstFactor(before)
  const authorization = `Bearer ${String(access)}`
  const setup = await before.inject({ method: 'POST', url: '/api/auth/totp/setup', headers: { authorization } })
  const { secret } = setup.json()
  const step = Math.floor(Date.now() / STEP_MS)
  const confirmed = await before.inject({ method: 'POST', url: '/api/auth/totp/confirm', headers: { authorization }, payload: { otp: codeAt(secret, step) } })
  t.equal(confirmed.statusCode, 200)
  await before.close()
  t.ok(statSync(credentialsFile).isFile(), 'the file was created, with its directory')
  t.equal(statSync(join(dir, 'data', 'totp-encryption.key')).mode & 0o777, 0o600, 'the key kept beside it is the owner\'s only')

  const after = await start()
  t.teardown(() => after.close())
  const first = await firstFactor(after)
  t.match(first, { mfaRequired: true, mfaToken: String }, 'after the restart the SMS code alone is not enough')
  t.notOk('access' in first)
  const totp = await after.inject({ method: 'POST', url: '/api/auth/verify-totp', payload: { mfaToken: first.mfaToken, otp: codeAt(secret, step + 1) } })
  t.equal(totp.statusCode, 200, 'the authenticator\'s code verifies: same secret, same key')
  t.same((await after.inject({ url: '/me', headers: { authorization: `Bearer ${totp.json().access}` } })).json().user.amr, ['sms', 'otp', 'mfa'])
  const replay = await firstFactor(after)
  const again = await after.inject({ method: 'POST', url: '/api/auth/verify-totp', payload: { mfaToken: replay.mfaToken, otp: codeAt(secret, step + 1) } })
  t.equal(again.statusCode, 401, 'a used time step stays used across the restart')
})
