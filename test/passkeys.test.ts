import swagger from '@fastify/swagger'
import Fastify from 'fastify'
import t from 'tap'
import otpLogin, { MemoryStore, MemoryTotpStore, type OtpEvent, type OtpLoginOptions } from '../lib/index.js'
import { CODE_SECRET, buildApp, claims, freshRedis, readyWith, storeKinds, type StoreKind } from './helpers/app.js'
import { manualClock, redisClock, type TestClock } from './helpers/clock.js'
import { TOTP_KEY, codeAt } from './helpers/totp.js'
import { SoftAuthenticator } from './helpers/webauthn.js'

const origin = 'http://localhost:3000'
const rpId = 'localhost'
const passkeys = { rpId, rpName: 'Test shop', origins: [origin] }
const phone = '+919876543210'
const other = '+919876543211'
const refusal = { statusCode: 401, code: 'OTP_PASSKEY_INVALID', error: 'Unauthorized', message: 'The passkey sign-in could not be verified; try again' }

async function buildPasskeyApp (t: Parameters<typeof buildApp>[0], kind: StoreKind, options: Partial<OtpLoginOptions> = {}) {
  const events: OtpEvent[] = []
  // The store's clock: moved by the tests instead of sleeping.
  let clock: TestClock
  const storeOptions: Partial<OtpLoginOptions> = {}
  if (kind === 'memory') {
    clock = manualClock(Date.now())
    const store = new MemoryStore({ now: clock.now })
    t.teardown(async () => { await store.close() })
    Object.assign(storeOptions, { store, codeSecret: CODE_SECRET })
  } else {
    const redis = await freshRedis()
    clock = redisClock(redis)
    Object.assign(storeOptions, { redis })
  }
  const built = await buildApp(t, kind, { passkeys, resendInterval: 0, maxSends: 100, onEvent: (event) => { events.push(event) }, ...storeOptions, ...options })
  const { app, accessFor } = built
  const bearer = (access: string) => ({ authorization: `Bearer ${access}` })
  const registerOptions = async (access: string) => await app.inject({ method: 'POST', url: '/passkeys/register/options', headers: bearer(access) })
  const register = async (access: string, response: unknown, name?: string) =>
    await app.inject({ method: 'POST', url: '/passkeys/register', headers: bearer(access), payload: { response, ...(name === undefined ? {} : { name }) } })
  const loginOptions = async () => (await app.inject({ method: 'POST', url: '/passkeys/login/options' })).json()
  const passkeyLogin = async (response: unknown) => await app.inject({ method: 'POST', url: '/passkeys/login', payload: { response } })
  const list = async (access: string) => await app.inject({ method: 'GET', url: '/passkeys', headers: bearer(access) })
  /** Signs in by code, then adds a passkey of `authenticator`: the access token and the new passkey's id. */
  const addPasskey = async (authenticator: SoftAuthenticator, identifier = phone) => {
    const access = await accessFor(identifier)
    const res = await register(access, authenticator.create((await registerOptions(access)).json()))
    if (res.statusCode !== 200) throw new Error(`could not add a passkey: ${res.body}`)
    return { access, id: res.json().id as string }
  }
  return { ...built, events, clock, bearer, registerOptions, register, loginOptions, passkeyLogin, list, addPasskey }
}

const device = () => new SoftAuthenticator({ origin, rpId })

for (const kind of storeKinds) {
  t.test(`${kind} store: passkeys`, async (t) => {
    t.test('add a passkey, see it listed, sign in with it: the /verify-otp answer, amr hwk + mfa', async (t) => {
      const { addPasskey, loginOptions, passkeyLogin, list, events } = await buildPasskeyApp(t, kind)
      const authenticator = device()
      const { access, id } = await addPasskey(authenticator)
      t.match(events.find((e) => e.type === 'passkey-added'), { passkeyId: id, userId: phone })
      const listed = (await list(access)).json()
      t.equal(listed.passkeys.length, 1)
      t.match(listed.passkeys[0], { id, name: 'Passkey', lastUsedAt: null, backedUp: false })
      t.match(listed.passkeys[0].createdAt, /^\d{4}-\d\d-\d\dT/)
      const res = await passkeyLogin(authenticator.get(await loginOptions()))
      t.equal(res.statusCode, 200, res.body)
      t.same(Object.keys(res.json()).sort(), ['access', 'deviceToken', 'expiresIn', 'refresh', 'refreshExpiresIn', 'tokenType'])
      const token = claims(res.json().access)
      t.equal(token.sub, phone)
      t.equal(token.phone, phone)
      t.same(token.amr, ['hwk', 'mfa'])
      t.match(events.at(-1), { type: 'verified', factor: 'passkey', userId: phone })
      t.not((await list(access)).json().passkeys[0].lastUsedAt, null, 'the sign-in is recorded')
    })

    t.test('a synced passkey: amr swk + mfa, listed as backed up', async (t) => {
      const { addPasskey, loginOptions, passkeyLogin, list } = await buildPasskeyApp(t, kind)
      const synced = new SoftAuthenticator({ origin, rpId, backedUp: true, counterStep: 0 })
      const { access } = await addPasskey(synced)
      t.equal((await list(access)).json().passkeys[0].backedUp, true)
      for (let i = 0; i < 2; i++) {
        const res = await passkeyLogin(synced.get(await loginOptions()))
        t.equal(res.statusCode, 200, 'a counter that stays 0 is no clone')
        t.same(claims(res.json().access).amr, ['swk', 'mfa'])
      }
    })

    t.test('second-factor mode with an authenticator on: a passkey sign-in is complete on its own', async (t) => {
      const totpClock = { now: 1_900_000_015_000 }
      const app = await buildPasskeyApp(t, kind, { totpEncryptionKey: TOTP_KEY, totpMode: 'second-factor', totpClock: () => totpClock.now, ...(kind === 'memory' ? { totpStore: new MemoryTotpStore() } : {}) })
      const authenticator = device()
      const { access } = await app.addPasskey(authenticator)
      const setup = await app.app.inject({ method: 'POST', url: '/totp/setup', headers: app.bearer(access) })
      const confirmed = await app.app.inject({ method: 'POST', url: '/totp/confirm', headers: app.bearer(access), payload: { otp: codeAt(setup.json().secret, Math.floor(totpClock.now / 30_000)) } })
      t.equal(confirmed.statusCode, 200)
      await app.login(phone)
      t.equal((await app.verify(phone, app.codeFor(phone))).json().mfaRequired, true, 'a code alone needs the second factor')
      const res = await app.passkeyLogin(authenticator.get(await app.loginOptions()))
      t.equal(res.statusCode, 200)
      t.same(claims(res.json().access).amr, ['hwk', 'mfa'])
    })

    t.test('the user handle is not signed, so it names no one: the credential id finds the owner', async (t) => {
      const { addPasskey, loginOptions, passkeyLogin } = await buildPasskeyApp(t, kind)
      const authenticator = device()
      await addPasskey(authenticator)
      const res = await passkeyLogin(authenticator.get(await loginOptions(), { userHandle: Buffer.alloc(32, 1).toString('base64url') }))
      t.equal(res.statusCode, 200)
      t.equal(claims(res.json().access).phone, phone, 'the passkey\'s owner, whatever the handle says')
    })

    t.test('every refused sign-in: 401 OTP_PASSKEY_INVALID, one body', async (t) => {
      const { addPasskey, loginOptions, passkeyLogin, events } = await buildPasskeyApp(t, kind)
      const authenticator = device()
      await addPasskey(authenticator)
      const refused = async (what: string, response: unknown) => {
        const res = await passkeyLogin(response)
        t.equal(res.statusCode, 401, what)
        t.same(res.json(), refusal, what)
      }

      const assertion = authenticator.get(await loginOptions())
      t.equal((await passkeyLogin(assertion)).statusCode, 200)
      await refused('a replayed assertion (its challenge is spent)', assertion)
      await refused('another origin', authenticator.get(await loginOptions(), { origin: 'http://evil.localhost:3000' }))
      await refused('another rpId', authenticator.get(await loginOptions(), { rpId: 'example.com' }))
      await refused('no user verification', authenticator.get(await loginOptions(), { uv: false }))
      await refused('a challenge the server never gave', authenticator.get({ challenge: Buffer.alloc(32, 7).toString('base64url') }))
      const stranger = device()
      stranger.create({ challenge: 'x', user: { id: 'AAAA' } })
      await refused('an unknown credential', stranger.get(await loginOptions()))
      t.equal(events.filter((e) => e.type === 'passkey-cloned').length, 0)
      // The one sign-in that went through had counter 1.
      await refused('the counter of the last sign-in again (a clone)', authenticator.get(await loginOptions(), { counter: 1 }))
      t.match(events.filter((e) => e.type === 'passkey-cloned'), [{ userId: phone }], 'the clone is told, once')
      await refused('a counter below it', authenticator.get(await loginOptions(), { counter: 0 }))
      t.equal((await passkeyLogin(authenticator.get(await loginOptions(), { counter: 2 }))).statusCode, 200, 'the passkey itself still works')
      await refused('a counter that went backwards', authenticator.get(await loginOptions(), { counter: 1 }))
    })

    t.test('cookie mode: the refresh and device tokens in cookies, a page of another origin refused', async (t) => {
      const app = await buildPasskeyApp(t, kind, { cookie: { secure: false }, allowedOrigins: [origin] })
      const authenticator = device()
      const access = await app.accessFor(phone)
      const options = await app.app.inject({ method: 'POST', url: '/passkeys/register/options', headers: { ...app.bearer(access), origin } })
      t.equal((await app.register(access, authenticator.create(options.json()))).statusCode, 200)
      const foreign = await app.app.inject({ method: 'POST', url: '/passkeys/login', headers: { origin: 'http://evil.example' }, payload: { response: authenticator.get(await app.loginOptions()) } })
      t.equal(foreign.statusCode, 403)
      t.equal(foreign.json().code, 'OTP_ORIGIN_NOT_ALLOWED')
      const res = await app.app.inject({ method: 'POST', url: '/passkeys/login', headers: { origin }, payload: { response: authenticator.get(await app.loginOptions()) } })
      t.equal(res.statusCode, 200)
      t.notOk(res.json().refresh, 'no refresh token in the body')
      t.notOk(res.json().deviceToken, 'no device token in the body')
      t.ok(res.cookies.some((cookie) => cookie.name === 'otp_refresh'), 'the refresh cookie')
    })

    t.test('a passkey whose identifier now names another user does not sign in', async (t) => {
      const owners = new Map<string, string>([[phone, 'u1']])
      const app = await buildPasskeyApp(t, kind, { findOrCreateUser: ({ phone: p, email }) => ({ id: owners.get(p ?? email ?? '') ?? 'nobody' }) })
      const authenticator = device()
      await app.addPasskey(authenticator)
      owners.set(phone, 'u2')
      t.same((await app.passkeyLogin(authenticator.get(await app.loginOptions()))).json(), refusal)
      owners.set(phone, 'u1')
      t.equal((await app.passkeyLogin(authenticator.get(await app.loginOptions()))).statusCode, 200)
    })

    t.test('at most 20 passkeys a user', async (t) => {
      const app = await buildPasskeyApp(t, kind)
      const authenticator = device()
      const access = await app.accessFor(phone)
      for (let i = 0; i < 20; i++) t.equal((await app.register(access, authenticator.create((await app.registerOptions(access)).json()))).statusCode, 200)
      const full = await app.registerOptions(access)
      t.equal(full.statusCode, 409)
      t.equal(full.json().code, 'OTP_PASSKEY_LIMIT')
    })

    t.test('the login routes count under the verify rate limit', async (t) => {
      const app = await buildPasskeyApp(t, kind, { rateLimit: { verify: { max: 2, timeWindow: '1 minute' } } })
      const options = async () => await app.app.inject({ method: 'POST', url: '/passkeys/login/options' })
      t.same([(await options()).statusCode, (await options()).statusCode, (await options()).statusCode], [200, 200, 429])
      t.same([(await app.passkeyLogin({})).statusCode, (await app.passkeyLogin({})).statusCode, (await app.passkeyLogin({})).statusCode], [400, 400, 429])
    })

    t.test('a login challenge expires after 300 seconds', async (t) => {
      const { addPasskey, loginOptions, passkeyLogin, clock } = await buildPasskeyApp(t, kind)
      const authenticator = device()
      await addPasskey(authenticator)
      const late = await loginOptions()
      const inTime = await loginOptions()
      await clock.advance(290_000)
      t.equal((await passkeyLogin(authenticator.get(inTime))).statusCode, 200, 'within 300 s')
      await clock.advance(20_000)
      t.same((await passkeyLogin(authenticator.get(late))).json(), refusal, 'after 300 s')
    })

    t.test('registration refusals', async (t) => {
      const app = await buildPasskeyApp(t, kind)
      const authenticator = device()
      const access = await app.accessFor(phone)
      const invalid = async (what: string, response: unknown) => {
        const res = await app.register(access, response)
        t.equal(res.statusCode, 400, what)
        t.equal(res.json().code, 'OTP_PASSKEY_INVALID', what)
      }
      const options = (await app.registerOptions(access)).json()
      t.equal(options.authenticatorSelection.residentKey, 'required')
      t.equal(options.authenticatorSelection.userVerification, 'required')
      t.not(options.user.id, Buffer.from(phone).toString('base64url'), 'the user handle is not the phone number')
      t.equal(options.user.name, phone, 'the phone number is the display name only')
      await invalid('a challenge the server never gave', authenticator.create({ ...options, challenge: Buffer.alloc(32, 9).toString('base64url') }))
      const otherAccess = await app.accessFor(other)
      await invalid('a challenge given to another user', authenticator.create((await app.registerOptions(otherAccess)).json()))
      await invalid('another origin', authenticator.create((await app.registerOptions(access)).json(), { origin: 'https://example.com' }))
      await invalid('no user verification', authenticator.create((await app.registerOptions(access)).json(), { uv: false }))
      const created = authenticator.create((await app.registerOptions(access)).json())
      t.equal((await app.register(access, created)).statusCode, 200)
      await invalid('the same response again (challenge spent)', created)
      const again = authenticator.create((await app.registerOptions(access)).json())
      await invalid('an id that is not the attested credential\'s', { ...again, id: created.id, rawId: created.rawId })
      // The same credential, attested again for a new challenge: registered already.
      const registered = authenticator.credentials.find((credential) => credential.id.toString('base64url') === created.id)
      const twice = await app.register(access, authenticator.create((await app.registerOptions(access)).json(), { credential: registered }))
      t.equal(twice.statusCode, 409)
      t.equal(twice.json().code, 'OTP_PASSKEY_EXISTS')
      t.equal((await app.register(otherAccess, authenticator.create((await app.registerOptions(otherAccess)).json(), { credential: registered }))).statusCode, 409, 'for another user too')
      t.equal((await app.list(access)).json().passkeys.length, 1)
    })

    t.test('a stale sign-in cannot add, rename or remove a passkey', async (t) => {
      const app = await buildPasskeyApp(t, kind, { freshAuthAge: 60 })
      const { access, id } = await app.addPasskey(device())
      const c = claims(access)
      const { iat, exp, ...rest }: Record<string, unknown> = { ...c, auth_time: Number(c.auth_time) - 61 }
      const stale = app.app.jwt.sign(rest)
      const headers = app.bearer(stale)
      for (const [method, url, payload] of [
        ['POST', '/passkeys/register/options'], ['POST', '/passkeys/register', { response: {} }],
        ['PATCH', `/passkeys/${id}`, { name: 'x' }], ['DELETE', `/passkeys/${id}`]
      ] as const) {
        const res = await app.app.inject({ method, url, headers, ...(payload ? { payload } : {}) })
        t.equal(res.statusCode, 403, `${method} ${url}`)
        t.equal(res.json().code, 'OTP_FRESH_AUTH_REQUIRED')
      }
      t.equal((await app.list(stale)).statusCode, 200, 'listing needs no fresh sign-in')
    })

    t.test('rename and remove: only your own', async (t) => {
      const app = await buildPasskeyApp(t, kind)
      const mine = await app.addPasskey(device())
      const theirs = await app.addPasskey(device(), other)
      const patch = async (access: string, id: string, name: unknown) =>
        await app.app.inject({ method: 'PATCH', url: `/passkeys/${id}`, headers: app.bearer(access), payload: { name } })
      const remove = async (access: string, id: string) => await app.app.inject({ method: 'DELETE', url: `/passkeys/${id}`, headers: app.bearer(access) })
      t.equal((await patch(mine.access, theirs.id, 'mine now')).statusCode, 404)
      const foreign = await remove(mine.access, theirs.id)
      t.equal(foreign.statusCode, 404)
      t.equal(foreign.json().code, 'OTP_PASSKEY_NOT_FOUND')
      t.equal((await remove(mine.access, 'bm90LWEta2V5')).json().code, 'OTP_PASSKEY_NOT_FOUND', 'an unknown id')
      t.equal((await app.list(theirs.access)).json().passkeys.length, 1, 'theirs is untouched')
      t.equal((await patch(mine.access, mine.id, '')).statusCode, 400, 'an empty name')
      t.equal((await patch(mine.access, mine.id, 'x'.repeat(65))).statusCode, 400, 'a name over 64 characters')
      const renamed = await patch(mine.access, mine.id, 'Laptop')
      t.same(renamed.json(), { id: mine.id, name: 'Laptop' })
      t.equal((await app.list(mine.access)).json().passkeys[0].name, 'Laptop')
      t.equal((await remove(mine.access, mine.id)).statusCode, 204)
      t.match(app.events.find((e) => e.type === 'passkey-removed'), { passkeyId: mine.id, userId: phone })
      t.same((await app.list(mine.access)).json().passkeys, [])
      t.equal((await remove(mine.access, mine.id)).statusCode, 404, 'gone')
    })

    t.test('malformed bodies: a clear 4xx, never a 500', async (t) => {
      const app = await buildPasskeyApp(t, kind)
      const authenticator = device()
      const { access } = await app.addPasskey(authenticator)
      const good = authenticator.get(await app.loginOptions())
      const bad = [
        { response: { ...good, id: 'not base64url!' } },
        { response: { ...good, response: { ...good.response, clientDataJSON: 'éé' } } },
        { response: { ...good, response: { ...good.response, signature: 12 } } },
        { response: { ...good, type: 'password' } },
        { response: { ...good, extra: 1 } },
        { response: good, extra: 1 },
        { response: 'x' },
        {}
      ]
      for (const payload of bad) {
        const res = await app.app.inject({ method: 'POST', url: '/passkeys/login', payload })
        t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80))
      }
      const notJson = { response: { ...good, response: { ...good.response, clientDataJSON: Buffer.from('not json').toString('base64url') } } }
      t.same((await app.app.inject({ method: 'POST', url: '/passkeys/login', payload: notJson })).json(), refusal, 'clientDataJSON that is not JSON')
      const big = { response: { ...good, response: { ...good.response, signature: 'A'.repeat(100_000) } } }
      t.equal((await app.app.inject({ method: 'POST', url: '/passkeys/login', payload: big })).statusCode, 413, '100 kB')
      const bigRegistration = await app.register(access, { ...good, response: { clientDataJSON: 'A'.repeat(100_000), attestationObject: 'A' } })
      t.equal(bigRegistration.statusCode, 413)
      const wrongTypes = await app.register(access, { id: 1, rawId: [], type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON: 'AA', attestationObject: 'AA' } })
      t.equal(wrongTypes.statusCode, 400)
      const garbage = await app.register(access, { id: 'AA', rawId: 'AA', type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON: 'AA', attestationObject: 'AA' } })
      t.equal(garbage.json().code, 'OTP_PASSKEY_INVALID', 'base64url that decodes to nothing useful')
    })
  })
}

t.test('the passkeys option', async (t) => {
  const base = { send: () => {}, jwt: { secret: 'x'.repeat(32) } }
  await t.resolves(readyWith({ ...base, passkeys }))
  await t.resolves(readyWith({ ...base, passkeys: false }))
  await t.resolves(readyWith({ ...base, passkeys: { rpId: 'example.com', rpName: 'Shop', origins: ['https://example.com', 'https://app.example.com'] } }))
  const refused: unknown[] = [
    { rpId: 'example.com', rpName: 'Shop', origins: ['https://example.org'] },
    { rpId: 'ample.com', rpName: 'Shop', origins: ['https://example.com'] },
    { rpId: 'https://example.com', rpName: 'Shop', origins: ['https://example.com'] },
    { rpId: 'Example.com', rpName: 'Shop', origins: ['https://example.com'] },
    { rpId: 'example.com', rpName: 'Shop', origins: ['https://example.com/'] },
    { rpId: 'example.com', rpName: 'Shop', origins: ['example.com'] },
    { rpId: 'example.com', rpName: 'Shop', origins: [] },
    { rpId: 'example.com', origins: ['https://example.com'] },
    { rpId: 'example.com', rpName: 'Shop', origins: ['https://example.com'], extra: 1 },
    true
  ]
  for (const value of refused) await t.rejects(readyWith({ ...base, passkeys: value }), /option "passkeys(\.[a-zA-Z0-9.]+)?"( must|$)/, JSON.stringify(value))
})

t.test('without the option there are no passkey routes', async (t) => {
  const app = await buildApp(t, 'memory')
  t.equal((await app.app.inject({ method: 'POST', url: '/passkeys/login/options' })).statusCode, 404)
  t.ok(otpLogin)
})

t.test('OpenAPI: every passkey route documented, with its operationId, security, 429 and body errors', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 't', version: '1' } } })
  await app.register(otpLogin, { jwt: { secret: 'x'.repeat(32) }, send: () => {}, passkeys })
  await app.ready()
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string, security: unknown[], responses: Record<string, unknown> }>> }
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method} ${path}`, ...op })))
    .filter(({ name }) => name.includes('/passkeys'))
  t.same(ops.map(({ name, operationId }) => `${name} ${operationId}`).sort(), [
    'delete /passkeys/{id} removePasskey', 'get /passkeys listPasskeys', 'patch /passkeys/{id} renamePasskey',
    'post /passkeys/login passkeyLogin', 'post /passkeys/login/options passkeyLoginOptions',
    'post /passkeys/register passkeyRegister', 'post /passkeys/register/options passkeyRegisterOptions'
  ])
  for (const op of ops) {
    t.equal(op.security.length, op.name.includes('/login') ? 0 : 1, `${op.name}: security`)
    t.ok(op.responses['429'] && op.responses['503'], `${op.name}: 429 and 503`)
    if (!op.name.startsWith('get')) t.ok(op.responses['400'] && op.responses['413'] && op.responses['415'], `${op.name}: body errors`)
  }
})
