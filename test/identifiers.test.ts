import t, { type Test } from 'tap'
import { IdentifierTakenError, maskIdentifier, type LinkIdentifierArgs, type OtpEvent, type OtpLoginOptions } from '../lib/index.js'
import { CODE_SECRET, buildApp, claims, readyWith, storeKinds, wrongCode, type StoreKind } from './helpers/app.js'
import { RedisServer } from './helpers/redis.js'

// Adding a phone number or e-mail address to a signed-in user's account: POST /identifiers, /identifiers/verify.
const ana = '+919876543210'
const bo = '+919876543211'
const newPhone = '+919876543212'
const newEmail = 'ana.new@example.com'
const otherEmail = 'ana.other@example.com'

/** Resigns claims without iat and exp, which the signer sets. */
function resign (c: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const { iat, exp, ...rest } = { ...c, ...changes }
  return rest
}

async function identifierApp (t: Test, kind: StoreKind, options: Partial<OtpLoginOptions> = {}, taken: ReadonlySet<string> = new Set()) {
  const events: OtpEvent[] = []
  const links: Array<Omit<LinkIdentifierArgs, 'request'> & { hasRequest: boolean }> = []
  const built = await buildApp(t, kind, {
    identifierKinds: ['phone', 'email'],
    resendInterval: 0,
    maxSends: 50,
    onEvent: (event) => { events.push(event) },
    linkIdentifier: ({ userId, identifier, kind, request }) => {
      if (taken.has(identifier)) throw new IdentifierTakenError()
      links.push({ userId, identifier, kind, hasRequest: typeof request.id === 'string' })
    },
    ...options
  })
  const { app } = built
  const bearer = (access: string) => ({ authorization: `Bearer ${access}` })
  const signIn = async (id: string): Promise<{ access: string, sid: string }> => {
    t.equal((await built.login(id)).statusCode, 200, 'signing in: code sent')
    const body = (await built.verify(id, built.codeFor(id))).json()
    return { access: body.access, sid: String(claims(body.access).sid) }
  }
  const add = async (access: string | undefined, payload: object) => await app.inject({
    method: 'POST', url: '/identifiers', payload, ...(access === undefined ? {} : { headers: bearer(access) })
  })
  const confirm = async (access: string | undefined, payload: object) => await app.inject({
    method: 'POST', url: '/identifiers/verify', payload, ...(access === undefined ? {} : { headers: bearer(access) })
  })
  const me = async (access: string) => (await app.inject({ url: '/me', headers: bearer(access) })).statusCode
  return { ...built, events, links, signIn, add, confirm, me }
}

for (const kind of storeKinds) {
  t.test(`${kind} store: adding an identifier`, async (t) => {
    t.test('happy path: a code to the new e-mail address, then linked with it; event identifier-added', async (t) => {
      const app = await identifierApp(t, kind)
      const { access } = await app.signIn(ana)
      const sent = await app.add(access, { email: newEmail })
      t.equal(sent.statusCode, 200)
      const asLogin = await app.login(otherEmail)
      t.same(sent.json(), asLogin.json(), 'the same answer as /login')
      t.same(app.sent.filter((s) => s.to === newEmail).map((s) => s.channel), ['email'], 'one code, by e-mail, to the new address')
      const code = app.codeFor(newEmail)

      const res = await app.confirm(access, { email: newEmail, otp: code })
      t.equal(res.statusCode, 200)
      t.same(res.json(), { identifier: newEmail })
      t.same(app.links, [{ userId: ana, identifier: newEmail, kind: 'email', hasRequest: true }], 'linkIdentifier, once')
      const added = app.events.filter((e) => e.type === 'identifier-added')
      t.equal(added.length, 1)
      t.match(added[0], { type: 'identifier-added', userId: ana, channel: 'email', identifier: maskIdentifier(newEmail) })
      t.notMatch(JSON.stringify(app.events), code, 'no event carries the code')

      const again = await app.confirm(access, { email: newEmail, otp: code })
      t.equal(again.json().code, 'OTP_INVALID', 'the code is spent')
      t.equal(app.links.length, 1)
    })

    t.test('a phone number too, in national format with defaultCountry; normalised', async (t) => {
      const app = await identifierApp(t, kind, { defaultCountry: 'IN' })
      const { access } = await app.signIn(ana)
      t.equal((await app.add(access, { phone: '98765 43212' })).statusCode, 200)
      t.same(app.sent.at(-1)?.channel, 'sms')
      const res = await app.confirm(access, { phone: '9876543212', otp: app.codeFor(newPhone) })
      t.same(res.json(), { identifier: newPhone })
      t.same(app.links.map((l) => [l.identifier, l.kind]), [[newPhone, 'phone']])
    })

    t.test('a stale sign-in gets OTP_FRESH_AUTH_REQUIRED and nothing is sent', async (t) => {
      const app = await identifierApp(t, kind, { freshAuthAge: 60 })
      const { access } = await app.signIn(ana)
      const c = claims(access)
      const stale = app.app.jwt.sign(resign(c, { auth_time: Number(c.auth_time) - 61 }))
      t.equal(await app.me(stale), 200, 'the token itself is good')
      const res = await app.add(stale, { email: newEmail })
      t.equal(res.statusCode, 403)
      t.equal(res.json().code, 'OTP_FRESH_AUTH_REQUIRED')
      t.equal(app.sent.filter((s) => s.to === newEmail).length, 0, 'nothing sent')
    })

    t.test('no token, or a bad one: 401 on both routes', async (t) => {
      const app = await identifierApp(t, kind)
      for (const access of [undefined, 'not-a-token']) {
        t.equal((await app.add(access, { email: newEmail })).statusCode, 401)
        t.equal((await app.confirm(access, { email: newEmail, otp: '123456' })).statusCode, 401)
      }
      t.equal(app.sent.length, 0)
    })

    t.test('send limits are the new identifier\'s, shared with /login', async (t) => {
      const app = await identifierApp(t, kind, { maxSends: 2, resendInterval: 30 })
      const { access } = await app.signIn(ana)
      t.equal((await app.login(newEmail)).statusCode, 200)
      const soon = await app.add(access, { email: newEmail })
      t.equal(soon.statusCode, 429)
      t.equal(soon.json().code, 'OTP_RESEND_TOO_SOON', "/login's resend wait holds /identifiers back")

      const other = await identifierApp(t, kind, { maxSends: 2 })
      const session = await other.signIn(ana)
      t.equal((await other.add(session.access, { email: newEmail })).statusCode, 200)
      t.equal((await other.login(newEmail)).statusCode, 200)
      const locked = await other.add(session.access, { email: newEmail })
      t.equal(locked.statusCode, 429)
      t.equal(locked.json().code, 'OTP_LOCKED', 'maxSends counts both routes')
      t.equal((await other.login(newEmail)).json().code, 'OTP_LOCKED')
    })

    t.test('smsBudget and the captcha apply as at /login', async (t) => {
      const app = await identifierApp(t, kind, { smsBudget: { 91: 2 }, captcha: { verify: (token) => token === 'human' } })
      const signedIn = await app.app.inject({ method: 'POST', url: '/login', payload: { phone: ana, captchaToken: 'human' } })
      t.equal(signedIn.statusCode, 200)
      const access = (await app.verify(ana, app.codeFor(ana))).json().access
      t.equal((await app.add(access, { phone: newPhone })).json().code, 'OTP_CAPTCHA_INVALID', 'no captcha token')
      t.equal((await app.add(access, { phone: newPhone, captchaToken: 'robot' })).json().code, 'OTP_CAPTCHA_INVALID')
      t.equal((await app.add(access, { phone: newPhone, captchaToken: 'human' })).statusCode, 200, 'the second SMS of the hour')
      const over = await app.app.inject({ method: 'POST', url: '/login', payload: { phone: bo, captchaToken: 'human' } })
      t.equal(over.json().code, 'OTP_SEND_BUDGET_EXCEEDED', 'the budget counted the /identifiers code')
    })

    t.test('an identifier kind that is not enabled is refused as /login refuses it', async (t) => {
      const app = await identifierApp(t, kind, { identifierKinds: ['phone'] })
      const { access } = await app.signIn(ana)
      const res = await app.add(access, { email: newEmail })
      t.equal(res.statusCode, 400)
      t.equal(res.json().code, 'FST_ERR_VALIDATION')
      t.equal((await app.login(newEmail)).json().code, 'FST_ERR_VALIDATION', 'as /login')
    })

    t.test('wrong codes burn the code and count on the identifier\'s failures, with sign-in guesses', async (t) => {
      const app = await identifierApp(t, kind, { maxAttempts: 2, maxFailures: 4 })
      const { access } = await app.signIn(ana)
      await app.add(access, { email: newEmail })
      const code = app.codeFor(newEmail)
      t.equal((await app.confirm(access, { email: newEmail, otp: wrongCode(code) })).json().code, 'OTP_INVALID')
      await app.confirm(access, { email: newEmail, otp: wrongCode(wrongCode(code)) })
      const burned = await app.confirm(access, { email: newEmail, otp: code })
      t.equal(burned.statusCode, 429)
      t.equal(burned.json().code, 'OTP_ATTEMPTS_EXCEEDED', 'maxAttempts wrong guesses burn it')
      t.same(app.links, [])

      // Two failures so far; one wrong sign-in guess and one more wrong link guess reach maxFailures (4).
      await app.login(newEmail)
      t.equal((await app.verify(newEmail, wrongCode(app.codeFor(newEmail)))).json().code, 'OTP_INVALID')
      await app.add(access, { email: newEmail })
      const locked = await app.confirm(access, { email: newEmail, otp: wrongCode(app.codeFor(newEmail)) })
      t.equal(locked.statusCode, 429)
      t.equal(locked.json().code, 'OTP_LOCKED')
      t.ok(Number(locked.headers['retry-after']) > 0)
      t.ok(app.events.some((e) => e.type === 'locked-out'), 'locked-out event')
      t.equal((await app.login(newEmail)).json().code, 'OTP_LOCKED', 'the identifier is locked for sign-in too')
      t.equal((await app.add(access, { email: newEmail })).json().code, 'OTP_LOCKED')
    })

    t.test('purpose binding: an /identifiers code never signs in', async (t) => {
      const app = await identifierApp(t, kind)
      const { access } = await app.signIn(ana)
      await app.add(access, { email: newEmail })
      const res = await app.verify(newEmail, app.codeFor(newEmail))
      t.equal(res.statusCode, 401)
      t.equal(res.json().code, 'OTP_INVALID')
      t.notOk(res.json().access)
    })

    t.test('purpose binding: a /login code never links', async (t) => {
      const app = await identifierApp(t, kind)
      const { access } = await app.signIn(ana)
      await app.login(newEmail)
      const res = await app.confirm(access, { email: newEmail, otp: app.codeFor(newEmail) })
      t.equal(res.statusCode, 401)
      t.equal(res.json().code, 'OTP_INVALID')
      t.same(app.links, [])
    })

    t.test('purpose binding: a code that user A asked for does not link for user B', async (t) => {
      const app = await identifierApp(t, kind)
      const a = await app.signIn(ana)
      const b = await app.signIn(bo)
      await app.add(a.access, { email: newEmail })
      const code = app.codeFor(newEmail)
      const stolen = await app.confirm(b.access, { email: newEmail, otp: code })
      t.equal(stolen.statusCode, 401)
      t.equal(stolen.json().code, 'OTP_INVALID')
      t.same(app.links, [])
      t.equal((await app.confirm(a.access, { email: newEmail, otp: code })).statusCode, 200, 'A still can')
      t.same(app.links.map((l) => l.userId), [ana])
    })

    t.test('a code for one identifier never links another', async (t) => {
      const app = await identifierApp(t, kind)
      const { access } = await app.signIn(ana)
      await app.add(access, { email: newEmail })
      await app.add(access, { email: otherEmail })
      const code = app.codeFor(newEmail)
      t.not(code, app.codeFor(otherEmail), 'two different codes (1 in a million they are not)')
      t.equal((await app.confirm(access, { email: otherEmail, otp: code })).json().code, 'OTP_INVALID')
      t.equal((await app.confirm(access, { phone: newPhone, otp: code })).json().code, 'OTP_INVALID', 'nor one that was never sent a code')
      t.same(app.links, [])
    })

    t.test('an identifier that is another user\'s: 409 only after a right code', async (t) => {
      const app = await identifierApp(t, kind, {}, new Set([newEmail]))
      const { access } = await app.signIn(ana)
      const sent = await app.add(access, { email: newEmail })
      t.equal(sent.statusCode, 200, 'the request tells nothing')
      const code = app.codeFor(newEmail)
      t.equal((await app.confirm(access, { email: newEmail, otp: wrongCode(code) })).json().code, 'OTP_INVALID', 'a wrong code: 401, not 409')
      const res = await app.confirm(access, { email: newEmail, otp: code })
      t.equal(res.statusCode, 409)
      t.equal(res.json().code, 'OTP_IDENTIFIER_TAKEN')
      t.same(app.links, [])
      t.notOk(app.events.some((e) => e.type === 'identifier-added'), 'no identifier-added event')
      t.notOk(app.events.some((e) => e.type === 'session-ended'), 'no session ended')
      t.equal(await app.me(access), 200)
    })

    t.test('a host\'s own coded 409 passes through', async (t) => {
      const app = await identifierApp(t, kind, {
        linkIdentifier: () => { throw Object.assign(new Error('taken'), { statusCode: 409, code: 'APP_EMAIL_TAKEN' }) }
      })
      const { access } = await app.signIn(ana)
      await app.add(access, { email: newEmail })
      const res = await app.confirm(access, { email: newEmail, otp: app.codeFor(newEmail) })
      t.equal(res.statusCode, 409)
      t.equal(res.json().code, 'APP_EMAIL_TAKEN')
    })

    for (const scope of ['others', 'all', 'none'] as const) {
      t.test(`endSessionsOnIdentifierChange: '${scope}'`, async (t) => {
        const app = await identifierApp(t, kind, scope === 'others' ? {} : { endSessionsOnIdentifierChange: scope })
        const first = await app.signIn(ana)
        const second = await app.signIn(ana)
        const current = await app.signIn(ana)
        const elsewhere = await app.signIn(bo)
        await app.add(current.access, { email: newEmail })
        t.equal((await app.confirm(current.access, { email: newEmail, otp: app.codeFor(newEmail) })).statusCode, 200)
        const live = [await app.me(first.access), await app.me(second.access), await app.me(current.access)]
        const expected = { others: [401, 401, 200], all: [401, 401, 401], none: [200, 200, 200] }[scope]
        t.same(live, expected, 'the sessions of the user')
        t.equal(await app.me(elsewhere.access), 200, "another user's session is untouched")
        const ended = app.events.filter((e) => e.type === 'session-ended')
        const endedIds = { others: [first.sid, second.sid], all: [first.sid, second.sid, current.sid], none: [] }[scope]
        t.same(ended.map((e) => e.sessionId).sort(), endedIds.sort())
        for (const e of ended) t.match(e, { reason: 'identifier-changed', userId: ana })
      })
    }

    t.test('bad bodies: a 4xx with a code, never a 500', async (t) => {
      const app = await identifierApp(t, kind)
      const { access } = await app.signIn(ana)
      const cases: Array<[string, object, string]> = [
        ['/identifiers', {}, 'FST_ERR_VALIDATION'],
        ['/identifiers', { phone: newPhone, email: newEmail }, 'FST_ERR_VALIDATION'],
        ['/identifiers', { email: newEmail, extra: 1 }, 'FST_ERR_VALIDATION'],
        ['/identifiers', { email: 'x'.repeat(250) + '@example.com' }, 'FST_ERR_VALIDATION'],
        ['/identifiers', { phone: 12345 }, 'FST_ERR_VALIDATION'],
        ['/identifiers', { email: newEmail, deviceToken: 'x' }, 'FST_ERR_VALIDATION'],
        ['/identifiers', { phone: '12' }, 'OTP_INVALID_PHONE'],
        ['/identifiers', { email: 'not-an-address' }, 'OTP_INVALID_EMAIL'],
        ['/identifiers/verify', { email: newEmail }, 'FST_ERR_VALIDATION'],
        ['/identifiers/verify', { email: newEmail, otp: '12345' }, 'FST_ERR_VALIDATION'],
        ['/identifiers/verify', { email: newEmail, otp: '12345a' }, 'FST_ERR_VALIDATION'],
        ['/identifiers/verify', { email: newEmail, otp: 123456 }, 'FST_ERR_VALIDATION'],
        ['/identifiers/verify', { email: newEmail, otp: '123456', extra: true }, 'FST_ERR_VALIDATION'],
        ['/identifiers/verify', { otp: '123456' }, 'FST_ERR_VALIDATION'],
        ['/identifiers/verify', { phone: '12', otp: '123456' }, 'OTP_INVALID_PHONE']
      ]
      for (const [url, payload, code] of cases) {
        const res = await app.app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${access}` } })
        t.equal(res.statusCode, 400, `${url} ${JSON.stringify(payload).slice(0, 60)}`)
        t.equal(res.json().code, code)
      }
      const notJson = await app.app.inject({ method: 'POST', url: '/identifiers', payload: '{', headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' } })
      t.equal(notJson.statusCode, 400)
      const big = await app.app.inject({ method: 'POST', url: '/identifiers/verify', payload: { email: newEmail, otp: '123456', pad: 'x'.repeat(2000) }, headers: { authorization: `Bearer ${access}` } })
      t.equal(big.statusCode, 413)
      t.same(app.links, [])
    })
  })
}

t.test('without linkIdentifier the routes are not there', async (t) => {
  const app = await buildApp(t, 'memory', { identifierKinds: ['phone', 'email'] })
  await app.login(ana)
  const { access } = (await app.verify(ana, app.codeFor(ana))).json()
  const headers = { authorization: `Bearer ${access}` }
  t.equal((await app.app.inject({ method: 'POST', url: '/identifiers', payload: { email: newEmail }, headers })).statusCode, 404)
  t.equal((await app.app.inject({ method: 'POST', url: '/identifiers/verify', payload: { email: newEmail, otp: '123456' }, headers })).statusCode, 404)
})

t.test('endSessionsOnIdentifierChange and linkIdentifier are checked at registration', async (t) => {
  const base = { jwt: { secret: 'x'.repeat(32) }, send: () => {} }
  await t.rejects(readyWith({ ...base, endSessionsOnIdentifierChange: 'some' }), /option "endSessionsOnIdentifierChange" must be 'others', 'all' or 'none'/)
  await t.rejects(readyWith({ ...base, linkIdentifier: 'yes' }), /option "linkIdentifier" must be a function/)
})

t.test('Redis down: 503 OTP_STORE_UNAVAILABLE on both routes, nothing sent, nothing linked', async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.stop())
  // Without sessions app.authenticate needs no store, so the routes' own store calls are what fail.
  const app = await identifierApp(t, 'memory', { redis: await server.client(), codeSecret: CODE_SECRET, refreshTokenTtl: false, storeTimeout: 300 })
  const { access } = await app.signIn(ana)
  await app.add(access, { email: newEmail })
  const code = app.codeFor(newEmail)
  const sends = app.sent.length
  await server.kill()
  for (const res of [await app.add(access, { email: otherEmail }), await app.confirm(access, { email: newEmail, otp: code })]) {
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'OTP_STORE_UNAVAILABLE')
  }
  t.equal(app.sent.length, sends, 'nothing sent')
  t.same(app.links, [], 'nothing linked')
})

t.test('without sessions (refreshTokenTtl: false) there is nothing to end: the link is made', async (t) => {
  const app = await identifierApp(t, 'memory', { refreshTokenTtl: false })
  const { access } = await app.signIn(ana)
  await app.add(access, { email: newEmail })
  t.same((await app.confirm(access, { email: newEmail, otp: app.codeFor(newEmail) })).json(), { identifier: newEmail })
  t.notOk(app.events.some((e) => e.type === 'session-ended'))
})

t.test('per-IP limits: rateLimit.login for /identifiers, rateLimit.verify for /identifiers/verify', async (t) => {
  const app = await identifierApp(t, 'memory', { rateLimit: { login: { max: 2, timeWindow: '1 minute' }, verify: { max: 3, timeWindow: '1 minute' } } })
  const { access } = await app.signIn(ana) // one /login and one /verify-otp from this IP; each route counts its own
  t.equal((await app.add(access, { email: newEmail })).statusCode, 200)
  t.equal((await app.add(access, { email: newEmail })).statusCode, 200)
  const limited = await app.add(access, { email: newEmail })
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'OTP_RATE_LIMITED')
  const wrong = wrongCode(app.codeFor(newEmail))
  for (let i = 0; i < 3; i++) t.equal((await app.confirm(access, { email: newEmail, otp: wrong })).json().code, 'OTP_INVALID')
  t.equal((await app.confirm(access, { email: newEmail, otp: wrong })).json().code, 'OTP_RATE_LIMITED')
})
