import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { maskIdentifier, type OtpEvent } from '../lib/index.js'
import { buildApp, claims, storeKinds, wrongCode } from './helpers/app.js'
import { buildTotpApp, codeAt } from './helpers/totp.js'

const phone = '+919876543210'

t.test('maskIdentifier', async (t) => {
  t.equal(maskIdentifier('+919876543210'), '+91******3210')
  t.equal(maskIdentifier('+15550000000'), '+15*****0000')
  t.equal(maskIdentifier('ana@example.com'), 'a**@example.com')
  t.equal(maskIdentifier('bartholomew@example.com'), 'b**********@example.com')
  t.equal(maskIdentifier('+12345'), '******')
})

t.test('every step of the flow is an event, with a masked identifier, the IP and a reason', async (t) => {
  const events: OtpEvent[] = []
  let failSend = false
  const { app, login, verify, codeFor, sent } = await buildApp(t, 'memory', {
    maxSends: 3,
    maxAttempts: 2,
    maxFailures: 3,
    refreshGrace: 0,
    smsBudget: { 44: 1 },
    findOrCreateUser: () => ({ id: 'u1' }),
    onEvent: (event) => { events.push(event) },
    send: ({ channel, to, code, expiresIn }) => {
      if (failSend) throw new Error(`gateway refused ${to}`)
      sent.push({ channel, to, code, expiresIn })
    }
  })
  const take = (): Array<Partial<OtpEvent>> => events.splice(0).map(({ requestId, ...rest }) => {
    t.ok(requestId !== undefined && requestId.length > 0, 'a request id')
    return rest
  })
  const masked = '+91******3210'
  const base = { identifier: masked, channel: 'sms', ip: '10.9.8.7' }

  await login(phone, '10.9.8.7')
  t.same(take(), [{ type: 'code-requested', ...base }, { type: 'code-sent', ...base }])
  await login(phone, '10.9.8.7')
  t.same(take(), [{ type: 'code-requested', ...base }, { type: 'code-refused', reason: 'resend-too-soon', ...base }])

  const code = codeFor(phone)
  await verify(phone, wrongCode(code), '10.9.8.7')
  t.same(take(), [{ type: 'verify-failed', reason: 'invalid', factor: 'otp', ...base }])
  await verify(phone, wrongCode(code), '10.9.8.7')
  t.same(take(), [{ type: 'verify-failed', reason: 'attempts-exceeded', factor: 'otp', ...base }])

  const other = '+919876543211'
  const otherBase = { ...base, identifier: '+91******3211' }
  await login(other, '10.9.8.7')
  take()
  const tokens = (await verify(other, codeFor(other), '10.9.8.7')).json()
  const [created, verified] = take()
  t.match(created, { type: 'session-created', userId: 'u1', identifier: '+91******3211', ip: '10.9.8.7', sessionId: claims(tokens.access).sid })
  t.same(verified, { type: 'verified', userId: 'u1', factor: 'otp', ...otherBase })

  await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: tokens.refresh }, remoteAddress: '10.9.8.7' })
  t.same(take(), [{ type: 'refreshed', userId: 'u1', identifier: '+91******3211', ip: '10.9.8.7' }])
  await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: tokens.refresh }, remoteAddress: '10.9.8.7' })
  t.same(take(), [
    { type: 'refresh-failed', reason: 'reused', ip: '10.9.8.7' },
    { type: 'session-ended', reason: 'reuse', sessionId: claims(tokens.access).sid, ip: '10.9.8.7' }
  ])
  await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: 'nonsense' }, remoteAddress: '10.9.8.7' })
  t.same(take(), [{ type: 'refresh-failed', reason: 'invalid', ip: '10.9.8.7' }])

  await login(other, '10.9.8.7')
  take()
  const fresh = (await verify(other, codeFor(other), '10.9.8.7')).json()
  take()
  await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${fresh.access}` }, remoteAddress: '10.9.8.7' })
  t.same(take(), [
    { type: 'session-ended', reason: 'logout', sessionId: claims(fresh.access).sid, userId: 'u1', identifier: '+91******3211', ip: '10.9.8.7' },
    { type: 'logged-out', userId: 'u1', identifier: '+91******3211', ip: '10.9.8.7' }
  ])

  failSend = true
  // (resend interval: a new number is needed for the delivery failure)
  await login('+919876543213', '10.9.8.7')
  t.same(take(), [
    { type: 'code-requested', ...base, identifier: '+91******3213' },
    { type: 'delivery-failed', reason: 'Error: gateway refused +91******3213', ...base, identifier: '+91******3213' }
  ], 'the provider error in the event is masked too')
  failSend = false

  await login('+447911123456', '10.9.8.7')
  await login('+447911123457', '10.9.8.7')
  const gb = take()
  t.same(gb.at(-1), { type: 'code-refused', reason: 'send-budget', ...base, identifier: '+44******3457' })
})

t.test('refusals while locked, and the one locked-out event per lockout', async (t) => {
  const events: OtpEvent[] = []
  const { login, verify, codeFor } = await buildApp(t, 'memory', {
    maxSends: 1, maxFailures: 2, maxAttempts: 5, resendInterval: 0, onEvent: (event) => { events.push(event) }
  })
  await login(phone)
  await login(phone)
  t.match(events.at(-1), { type: 'code-refused', reason: 'max-sends' })
  await verify(phone, wrongCode(codeFor(phone)))
  await verify(phone, wrongCode(codeFor(phone)))
  t.match(events.at(-1), { type: 'locked-out', reason: 'max-failures' })
  await verify(phone, codeFor(phone))
  t.match(events.at(-1), { type: 'verify-failed', reason: 'locked' })
  await login(phone)
  t.match(events.at(-1), { type: 'code-refused', reason: 'locked' })
  t.equal(events.filter((event) => event.type === 'locked-out').length, 1, 'one locked-out event')
  const all = JSON.stringify(events)
  t.notMatch(all, codeFor(phone), 'no event carries a code')
  t.notMatch(all, phone, 'no event carries the full number')
})

t.test('a failing event handler never breaks a login, and is logged', async (t) => {
  const logs: string[] = []
  let calls = 0
  const { login, verify, codeFor } = await buildApp(t, 'memory', {
    onEvent: (event) => {
      calls++
      if (event.type === 'code-sent') throw new Error('audit log is down')
      if (event.type === 'verified') return Promise.reject(new Error('metrics are down'))
    }
  }, logs)
  t.equal((await login(phone)).statusCode, 200)
  t.equal((await verify(phone, codeFor(phone))).statusCode, 200)
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(calls >= 3)
  const failures = logs.filter((line) => line.includes('onEvent handler failed'))
  t.equal(failures.length, 2, 'both failures logged')
})

t.test("the plugin's logs mask identifiers", async (t) => {
  const logs: string[] = []
  const { login } = await buildApp(t, 'memory', {
    identifierKinds: ['phone', 'email'],
    resendInterval: 0,
    send: ({ to, code }) => { throw new Error(`provider rejected ${to} with text "Your code is ${code}"`) }
  }, logs)
  await login(phone)
  await login('ana@example.com')
  const text = logs.join('\n')
  t.match(text, /provider rejected \+91\*{6}3210/)
  t.match(text, /provider rejected a\*\*@example\.com/)
  t.notMatch(text, phone)
  t.notMatch(text, 'ana@example.com')
})

t.test('authenticator and recovery-code logins are events too, with their factor', async (t) => {
  const events: OtpEvent[] = []
  const app = await buildTotpApp(t, 'memory', {
    maxFailures: 2, findOrCreateUser: () => ({ id: 'u7' }), onEvent: (event) => { events.push(event) }
  })
  const { secret, recoveryCodes, access } = await app.enable(phone)
  t.match(events.find((event) => event.type === 'totp-enabled'), { identifier: '+91******3210', userId: 'u7' }, 'enabling is an event')
  events.splice(0)
  await app.verifyTotp(phone, codeAt(secret, app.step()))
  await app.verifyRecovery(phone, recoveryCodes[0] ?? '')
  await app.verifyTotp(phone, codeAt(secret, app.step()))
  await app.verifyTotp(phone, '000000')
  await app.verifyTotp(phone, '111111')
  await app.verifyTotp(phone, codeAt(secret, app.step() + 1))
  const seen = events.filter((event) => event.type !== 'session-created')
    .map(({ type, factor, reason, userId, identifier }) => ({ type, factor, reason, userId, identifier }))
  const id = '+91******3210'
  t.same(seen, [
    { type: 'verified', factor: 'totp', reason: undefined, userId: 'u7', identifier: id },
    { type: 'verified', factor: 'recovery', reason: undefined, userId: 'u7', identifier: id },
    { type: 'verify-failed', factor: 'totp', reason: 'invalid', userId: undefined, identifier: id }, // a replayed step: not counted
    { type: 'verify-failed', factor: 'totp', reason: 'invalid', userId: undefined, identifier: id },
    { type: 'locked-out', factor: 'totp', reason: 'max-failures', userId: undefined, identifier: id },
    { type: 'verify-failed', factor: 'totp', reason: 'locked', userId: undefined, identifier: id }
  ])
  await app.disable(access)
  t.match(events.at(-1), { type: 'totp-disabled', identifier: id, userId: 'u7' }, 'so is turning it off')
})

t.test('the old event field "method" still reads as "factor", with a deprecation warning, and is not serialised', async (t) => {
  const events: OtpEvent[] = []
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const { login, verify, codeFor } = await buildApp(t, 'memory', { onEvent: (event) => { events.push(event) } })
  await login(phone)
  await verify(phone, wrongCode(codeFor(phone)))
  const failed = events.find((event) => event.type === 'verify-failed')
  t.equal(failed?.factor, 'otp')
  t.equal(failed?.method, 'otp', 'the old name reads the same value')
  t.notMatch(JSON.stringify(failed), /"method"/, 'logs show the new name only')
  await new Promise((resolve) => setImmediate(resolve))
  t.match(warnings, [{ name: 'DeprecationWarning', code: 'FOTPDEP002' }])
})

for (const kind of storeKinds) {
  t.test(`${kind} store: app.otpSessions.revoke and revokeAll are events too, by the host, with no request`, async (t) => {
    const seen: Array<{ event: OtpEvent, request: FastifyRequest | undefined }> = []
    const { app, login, verify, codeFor } = await buildApp(t, kind, {
      resendInterval: 0, maxSends: 100, findOrCreateUser: () => ({ id: 'u1' }), onEvent: (event, request) => { seen.push({ event, request }) }
    })
    const signIn = async (): Promise<string> => {
      await login(phone)
      return String(claims((await verify(phone, codeFor(phone))).json().access).sid)
    }
    const [a, b, c] = [await signIn(), await signIn(), await signIn()]
    const ended = (sessionId: string): OtpEvent => ({ type: 'session-ended', reason: 'revoked', by: 'host', sessionId, userId: 'u1' })
    seen.splice(0)

    t.equal(await app.otpSessions.revoke('u1', a), true)
    t.same(seen.map(({ event }) => event), [ended(a)], 'one session-ended event, by the host')
    const [only] = seen
    t.equal(only?.request, undefined, 'the handler gets no request')
    t.notOk(only !== undefined && ('ip' in only.event || 'requestId' in only.event), 'and the event no IP or request id')

    seen.splice(0)
    t.equal(await app.otpSessions.revoke('u1', a), false, 'already ended')
    t.equal(await app.otpSessions.revoke('u2', b), false, 'not a session of u2')
    t.equal(await app.otpSessions.revokeAll('u2'), 0, 'u2 has none')
    t.same(seen, [], 'nothing ended: no event')

    t.equal(await app.otpSessions.revokeAll('u1'), 2)
    const bySession = (x: OtpEvent, y: OtpEvent): number => String(x.sessionId).localeCompare(String(y.sessionId))
    t.same(seen.map(({ event }) => event).sort(bySession), [ended(b), ended(c)].sort(bySession), 'one event for each session it ended')
    t.ok(seen.every(({ request }) => request === undefined))
  })
}

t.test('a failing handler never breaks a host call, and is logged', async (t) => {
  const logs: string[] = []
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', {
    findOrCreateUser: () => ({ id: 'u1' }),
    onEvent: (event) => { if (event.by === 'host') throw new Error('audit log is down') }
  }, logs)
  await login(phone)
  const { access } = (await verify(phone, codeFor(phone))).json()
  t.equal(await app.otpSessions.revoke('u1', String(claims(access).sid)), true, 'the session ended all the same')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(logs.filter((line) => line.includes('onEvent handler failed')).length, 1, 'the failure is logged')
})
