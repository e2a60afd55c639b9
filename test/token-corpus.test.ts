import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import { createSigner } from 'fast-jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import otpLogin from '../lib/index.js'
import { JWT_SECRET, buildApp, claims } from './helpers/app.js'
import { buildTotpApp } from './helpers/totp.js'

const phone = '+919876543210'
const now = (): number => Math.floor(Date.now() / 1000)
const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const hmac = (hash: string, secret: string, input: string): string => createHmac(hash, secret).update(input).digest('base64url')

/** Every route of the plugin that takes a bearer token, plus a host route behind `app.authenticate`. */
const authenticatedRoutes: Array<{ method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown> }> = [
  { method: 'GET', url: '/me' },
  { method: 'POST', url: '/logout' },
  { method: 'POST', url: '/totp/setup' },
  { method: 'POST', url: '/totp/confirm', payload: { otp: '123456' } },
  { method: 'DELETE', url: '/totp' },
  { method: 'GET', url: '/sessions' },
  { method: 'DELETE', url: `/sessions/${'A'.repeat(22)}` }
]

interface Case {
  name: string
  authorization: string
  /** The header itself is not `Bearer <token>`: @fastify/jwt may answer 400 as well as 401. */
  notBearerForm?: boolean
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const ed = generateKeyPairSync('ed25519')
const pem = (key: typeof rsa.privateKey): string => key.export({ type: 'pkcs8', format: 'pem' }).toString()
// These also fill fast-jwt's process-wide cache of "the algorithm for this key" with HS512 for JWT_SECRET: the
// plugin must still sign (and accept) HS256, as it does by setting the algorithm instead of leaving it to that cache.
const signers: Record<string, (payload: Record<string, unknown>) => string> = {
  RS256: createSigner({ algorithm: 'RS256', key: pem(rsa.privateKey), noTimestamp: true }),
  PS256: createSigner({ algorithm: 'PS256', key: pem(rsa.privateKey), noTimestamp: true }),
  ES256: createSigner({ algorithm: 'ES256', key: pem(ec.privateKey), noTimestamp: true }),
  EdDSA: createSigner({ algorithm: 'EdDSA', key: pem(ed.privateKey), noTimestamp: true }),
  HS384: createSigner({ algorithm: 'HS384', key: JWT_SECRET, noTimestamp: true }),
  HS512: createSigner({ algorithm: 'HS512', key: JWT_SECRET, noTimestamp: true }),
  'HS256 (another secret)': createSigner({ algorithm: 'HS256', key: 'another-secret-that-is-long-enough-0000', noTimestamp: true })
}

/** A token from raw parts: each a value to encode as JSON, or a string taken as it is. */
function token (header: unknown, payload: unknown, signature: string | ((input: string) => string)): string {
  const input = `${typeof header === 'string' ? header : b64(header)}.${typeof payload === 'string' ? payload : b64(payload)}`
  return `${input}.${typeof signature === 'string' ? signature : signature(input)}`
}
/** Signed with the right secret and HS256: only the header or payload can be wrong. */
const hs256 = (header: unknown, payload: unknown): string => token(header, payload, (input) => hmac('sha256', JWT_SECRET, input))

/**
 * At least 200 tokens the plugin must refuse. `live` is the payload of a real access token (its session is live),
 * so a token that differs from a good one only in the property under test would be accepted if that property
 * went unchecked.
 */
function corpus (live: Record<string, unknown>, good: string): Case[] {
  const cases: Case[] = []
  const bearer = (name: string, value: string): void => { cases.push({ name, authorization: `Bearer ${value}` }) }
  const { sid, ...withoutSession } = live

  // Foreign algorithms, with real signatures and fake ones, on payloads that would otherwise pass.
  const payloads: Record<string, Record<string, unknown>> = {
    live,
    'no sub': { ...live, sub: undefined },
    'sub a number': { ...live, sub: 42 },
    'no session': withoutSession
  }
  const fakes: Record<string, string> = {
    empty: '',
    x: 'x',
    'random 32 bytes': randomBytes(32).toString('base64url'),
    'random 256 bytes': randomBytes(256).toString('base64url'),
    'HMAC-SHA256 with the secret': '' // filled per token: the algorithm-confusion signature
  }
  const algorithms = ['none', 'HS384', 'HS512', 'RS256', 'ES256', 'PS256', 'EdDSA', 'HS256 (another secret)', 'RS512', 'ES384']
  for (const [payloadName, payload] of Object.entries(payloads)) {
    for (const alg of algorithms) {
      const signer = signers[alg]
      if (signer !== undefined) bearer(`${alg}, real signature, ${payloadName}`, signer(payload))
      const headerAlg = alg.split(' ')[0]
      for (const [fakeName, fake] of Object.entries(fakes)) {
        if (fakeName.startsWith('HMAC') && headerAlg === 'HS256') continue // that would be a genuine token
        const signature = fakeName.startsWith('HMAC') ? (input: string) => hmac('sha256', JWT_SECRET, input) : fake
        bearer(`${alg}, signature ${fakeName}, ${payloadName}`, token({ alg: headerAlg, typ: 'JWT' }, payload, signature))
      }
    }
  }

  // Payloads that are not a plain object with a string sub, signed as the plugin signs.
  const shapes: Record<string, unknown> = {
    array: [1, 2],
    'empty array': [],
    null: null,
    string: 'hello',
    number: 42,
    true: true,
    'nested sub': { ...live, sub: { id: live.sub } },
    'sub an array': { ...live, sub: [live.sub] },
    'sub null': { ...live, sub: null },
    'sub empty': { ...live, sub: '' },
    'sub true': { ...live, sub: true },
    'no sub at all': (({ sub, ...rest }) => rest)(live),
    'empty object': {},
    'deeply nested': { ...live, sub: JSON.parse('['.repeat(500) + ']'.repeat(500)) },
    huge: { ...live, sub: undefined, filler: 'x'.repeat(64 * 1024) },
    'huge sub not a string': { ...live, sub: Array.from({ length: 5000 }, (_, i) => i) },
    'proto key': JSON.parse(`{"__proto__":{"sub":"admin"},"sid":${JSON.stringify(sid)},"exp":${now() + 900}}`),
    'unicode, no sub': { ...live, sub: undefined, name: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ é' }
  }
  for (const [name, payload] of Object.entries(shapes)) bearer(`payload ${name}`, hs256({ alg: 'HS256', typ: 'JWT' }, payload))
  const rawPayloads: Record<string, string> = {
    'not JSON': b64('{sub:'),
    'JSON with trailing garbage': b64(JSON.stringify(live) + 'x'),
    'not base64url': '%%%',
    'base64 with padding': Buffer.from(JSON.stringify(live)).toString('base64') + '==',
    'base64 with + and /': '+/+/+/',
    'invalid UTF-8': Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url'),
    empty: ''
  }
  for (const [name, payload] of Object.entries(rawPayloads)) bearer(`payload ${name}`, hs256({ alg: 'HS256', typ: 'JWT' }, payload))

  // Time claims: edges and wrong types.
  const t0 = now()
  const times: Record<string, Record<string, unknown>> = {
    'nbf in an hour': { nbf: t0 + 3600 },
    'nbf in a minute': { nbf: t0 + 60 },
    'nbf a string': { nbf: String(t0) },
    'nbf null': { nbf: null },
    'nbf an object': { nbf: {} },
    'exp passed': { exp: t0 - 1 },
    'exp long ago': { exp: 1 },
    'exp 0': { exp: 0 },
    'exp negative': { exp: -1 },
    'exp a string': { exp: String(t0 + 900) },
    'exp null': { exp: null },
    'exp an array': { exp: [t0 + 900] },
    'iat a string': { iat: 'now' },
    'iat an object': { iat: { t: t0 } },
    'iat null': { iat: null },
    'iat and exp strings': { iat: 'a', exp: 'b' }
  }
  for (const [name, change] of Object.entries(times)) bearer(`time ${name}`, hs256({ alg: 'HS256', typ: 'JWT' }, { ...live, ...change }))

  // Header oddities. Those fast-jwt accepts still carry no session, so they are refused (as another use of the key).
  const headers: Record<string, unknown> = {
    'no alg': { typ: 'JWT' },
    'alg null': { alg: null, typ: 'JWT' },
    'alg a number': { alg: 256, typ: 'JWT' },
    'alg lower case': { alg: 'hs256', typ: 'JWT' },
    'alg with a space': { alg: 'HS256 ', typ: 'JWT' },
    'alg an array': { alg: ['HS256'], typ: 'JWT' },
    'alg none in capitals': { alg: 'NONE', typ: 'JWT' },
    'crit unknown': { alg: 'HS256', typ: 'JWT', crit: ['foo'], foo: 1 },
    'crit not a list': { alg: 'HS256', typ: 'JWT', crit: 'exp' },
    'crit empty': { alg: 'HS256', typ: 'JWT', crit: [] },
    'crit b64': { alg: 'HS256', typ: 'JWT', crit: ['b64'], b64: false },
    'header an array': ['HS256'],
    'header null': null,
    'header a string': 'HS256',
    'header a number': 1
  }
  for (const [name, header] of Object.entries(headers)) bearer(`header ${name}`, hs256(header, live))
  const looseHeaders: Record<string, unknown> = {
    'typ JWE': { alg: 'HS256', typ: 'JWE' },
    'typ a number': { alg: 'HS256', typ: 123 },
    'no typ': { alg: 'HS256' },
    'kid a path': { alg: 'HS256', typ: 'JWT', kid: '../../../../dev/null' },
    'kid an object': { alg: 'HS256', typ: 'JWT', kid: { $ne: null } },
    'kid SQL': { alg: 'HS256', typ: 'JWT', kid: "' OR 1=1 --" },
    jku: { alg: 'HS256', typ: 'JWT', jku: 'http://127.0.0.1:1/jwks.json' },
    'embedded jwk': { alg: 'HS256', typ: 'JWT', jwk: { kty: 'oct', k: b64('secret') } },
    'zip DEF': { alg: 'HS256', typ: 'JWT', zip: 'DEF' },
    'enc set': { alg: 'HS256', typ: 'JWT', enc: 'A256GCM' }
  }
  for (const [name, header] of Object.entries(looseHeaders)) bearer(`header ${name}, no session`, hs256(header, withoutSession))
  const rawHeaders: Record<string, string> = {
    'not JSON': b64('{alg'),
    'not base64url': '@@@',
    empty: '',
    'unicode alg': b64('{"alg":"HS256\u0000","typ":"JWT"}')
  }
  for (const [name, header] of Object.entries(rawHeaders)) bearer(`header ${name}`, hs256(header, live))

  // Encodings of the whole token.
  const [h = '', p = '', s = ''] = good.split('.')
  const encodings: Record<string, string> = {
    'one part': h,
    'two parts': `${h}.${p}`,
    'trailing dot': `${good}.`,
    'four parts': `${good}.${s}`,
    'five parts': `${h}.${p}.${s}.${s}.${s}`,
    'empty parts': '..',
    'four empty parts': '...',
    'empty header': `.${p}.${s}`,
    'empty payload': `${h}..${s}`,
    'only dots and signature': `..${s}`,
    'bad base64 everywhere': '!!!.@@@.###',
    'padding in the signature': `${h}.${p}.${s}=`,
    'signature in base64': `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`,
    'signature truncated': `${h}.${p}.${s.slice(0, -2)}`,
    'signature doubled': `${h}.${p}.${s}${s}`,
    'signature of another token': `${h}.${p}.${(cases[0]?.authorization ?? 'a.b.c').split('.')[2] ?? ''}`,
    'unicode inside': `${h}.${p}é.${s}`,
    'emoji inside': `${h}😀.${p}.${s}`,
    'a zero byte': `${h}.${p}\u0000.${s}`,
    'very long': 'a'.repeat(100_000),
    'very long with dots': `${'a'.repeat(30_000)}.${'b'.repeat(30_000)}.${'c'.repeat(30_000)}`,
    'many dots': '.'.repeat(1000),
    'not a JWT': 'not-a-jwt',
    'a JSON object': JSON.stringify(live),
    'a number': '12345',
    'a lone quote': '"'
  }
  for (const [name, value] of Object.entries(encodings)) bearer(`encoding ${name}`, value)

  // A real token with one character changed, in every part. Not the last character of a part: its low bits
  // may be padding that base64url decoding drops, so a change there can leave the same bytes (still valid).
  for (let i = 0; i < good.length; i += Math.ceil(good.length / 40)) {
    const c = good[i]
    if (c === '.' || i === good.length - 1 || good[i + 1] === '.') continue
    bearer(`good token, character ${i} changed`, good.slice(0, i) + (c === 'A' ? 'B' : 'A') + good.slice(i + 1))
  }

  // Authorization headers that are not the Bearer form at all.
  const forms: Record<string, string> = {
    'Bearer alone': 'Bearer',
    'Bearer and a space': 'Bearer ',
    'two spaces': `Bearer  ${good}`,
    'a tab': `Bearer\t${good}`,
    'three words': `Bearer ${good} extra`,
    'Basic scheme': `Basic ${b64('user:pass')}`,
    'no scheme': good,
    'Token scheme': `Token ${good}`,
    'empty header': '',
    'BearerX scheme': `BearerX ${good}`
  }
  for (const [name, authorization] of Object.entries(forms)) cases.push({ name: `header form: ${name}`, authorization, notBearerForm: true })
  return cases
}

const errorLines = (lines: string[]): string[] => lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50)

t.test('every malformed or foreign bearer token gets a 401 with a FST_JWT_ code, on every authenticated route', async (t) => {
  const logs: string[] = []
  const { app, accessFor } = await buildTotpApp(t, 'memory', {}, logs)
  const good = await accessFor(phone)
  const cases = corpus(claims(good), good)
  t.ok(cases.length >= 200, `${cases.length} tokens`)

  for (const route of authenticatedRoutes) {
    const failures: string[] = []
    for (const { name, authorization, notBearerForm } of cases) {
      const before = logs.length
      const res = await app.inject({ method: route.method, url: route.url, headers: { authorization }, ...(route.payload ? { payload: route.payload } : {}) })
      const code = String(res.body === '' ? 'no body' : (JSON.parse(res.body) as { code?: unknown }).code)
      const allowed = notBearerForm === true ? [400, 401] : [401]
      const errors = errorLines(logs.slice(before))
      if (!allowed.includes(res.statusCode) || !code.startsWith('FST_JWT_') || errors.length > 0) {
        failures.push(`${name}: ${res.statusCode} ${code}${errors.length > 0 ? ' with an error log line' : ''}`)
      }
    }
    t.same(failures, [], `${route.method} ${route.url}: ${cases.length} tokens refused with 401 (or 400 for a header not in Bearer form) and a FST_JWT_ code, no error logged`)
  }
  const still = await app.inject({ url: '/me', headers: { authorization: `Bearer ${good}` } })
  t.equal(still.statusCode, 200, 'the real token still works after all that')
})

t.test('a valid token works; the right secret with another algorithm, or a bad payload, does not', async (t) => {
  const { app, accessFor } = await buildTotpApp(t, 'memory')
  const good = await accessFor(phone)
  const me = async (value: string) => await app.inject({ url: '/me', headers: { authorization: `Bearer ${value}` } })

  t.equal((await me(good)).statusCode, 200, 'the token the plugin issued')
  t.equal((await app.inject({ method: 'POST', url: '/totp/setup', headers: { authorization: `Bearer ${good}` } })).statusCode, 200, 'on a plugin route too')

  const live = claims(good)
  const refused: Record<string, string> = {
    'HS512 with the right secret': token({ alg: 'HS512', typ: 'JWT' }, live, (input) => hmac('sha512', JWT_SECRET, input)),
    'HS384 with the right secret': token({ alg: 'HS384', typ: 'JWT' }, live, (input) => hmac('sha384', JWT_SECRET, input)),
    'nbf in the future': hs256({ alg: 'HS256', typ: 'JWT' }, { ...live, nbf: now() + 600 }),
    'sub a number': hs256({ alg: 'HS256', typ: 'JWT' }, { ...live, sub: 7 }),
    'no sub': hs256({ alg: 'HS256', typ: 'JWT' }, { ...live, sub: undefined })
  }
  for (const [name, value] of Object.entries(refused)) {
    const res = await me(value)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID', `${name}: code`)
  }
  t.equal((await me(hs256({ alg: 'HS256', typ: 'JWT' }, live))).statusCode, 200, 'the same claims re-signed as the plugin signs pass: the check is the algorithm')

  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${refused['HS512 with the right secret']}` } })
  t.equal(logout.statusCode, 401, '/logout refuses HS512 too')
  t.equal((await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${good}` } })).statusCode, 204, 'and logs out with the real token')
})

/** An app whose host registered @fastify/jwt itself, with `jwtOptions`; the token of a fresh login. */
async function hostApp (t: { teardown: (fn: () => unknown) => void }, jwtOptions: Parameters<typeof fastifyJwt>[1]): Promise<{ app: FastifyInstance, access: string }> {
  const codes: string[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyJwt, jwtOptions)
  await app.register(otpLogin, { send: ({ code }) => { codes.push(code) }, rateLimit: false })
  app.get('/me', { onRequest: [app.authenticate] }, async (request) => request.user)
  await app.ready()
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const res = await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: codes[0] } })
  return { app, access: res.json().access }
}

t.test('a host-registered @fastify/jwt: only the algorithm its signer uses is accepted', async (t) => {
  const hostSecret = 'host-secret-host-secret-host-secret-000'
  const hmacHost = await hostApp(t, { secret: hostSecret })
  const me = async (app: FastifyInstance, value: string) => await app.inject({ url: '/me', headers: { authorization: `Bearer ${value}` } })
  t.equal((await me(hmacHost.app, hmacHost.access)).statusCode, 200, 'HMAC key: its own HS256 token')
  const live = claims(hmacHost.access)
  for (const [alg, hash] of [['HS384', 'sha384'], ['HS512', 'sha512']] as const) {
    const res = await me(hmacHost.app, token({ alg, typ: 'JWT' }, live, (input) => hmac(hash, hostSecret, input)))
    t.equal(res.statusCode, 401, `HMAC key: ${alg} with the host's secret is refused`)
    t.equal(res.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')
  }
  t.equal((await me(hmacHost.app, token({ alg: 'none' }, live, 'x'))).statusCode, 401, 'HMAC key: alg none with a signature')

  const rsaHost = await hostApp(t, { secret: { private: pem(rsa.privateKey), public: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString() } })
  t.equal(JSON.parse(Buffer.from(rsaHost.access.split('.')[0] ?? '', 'base64url').toString()).alg, 'RS256', 'RSA key pair: the signer picks RS256')
  t.equal((await me(rsaHost.app, rsaHost.access)).statusCode, 200, 'RSA key pair: its own RS256 token')
  const rsaLive = claims(rsaHost.access)
  for (const alg of ['PS256', 'RS512'] as const) {
    const forged = createSigner({ algorithm: alg, key: pem(rsa.privateKey), noTimestamp: true })(rsaLive)
    const res = await me(rsaHost.app, forged)
    t.equal(res.statusCode, 401, `RSA key pair: ${alg} with the same key is refused`)
    t.equal(res.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')
  }
  const hs = await me(rsaHost.app, token({ alg: 'HS256', typ: 'JWT' }, rsaLive, (input) => hmac('sha256', rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(), input)))
  t.equal(hs.statusCode, 401, 'RSA key pair: HS256 keyed with the public key (algorithm confusion) is refused')
})

t.test('a host-registered @fastify/jwt whose algorithm cannot be told fails at startup with a clear message', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyJwt, { secret: (_request, _payload, cb) => { cb(null, JWT_SECRET) } })
  app.register(otpLogin, { send: () => {}, rateLimit: false })
  await t.rejects(async () => { await app.ready() }, /cannot tell which algorithm .*"sign\.algorithm"/)

  const pinned = Fastify()
  t.teardown(() => pinned.close())
  await pinned.register(fastifyJwt, { secret: (_request, _payload, cb) => { cb(null, JWT_SECRET) }, sign: { algorithm: 'HS256' } })
  await pinned.register(otpLogin, { send: () => {}, rateLimit: false })
  await pinned.ready()
  const res = await pinned.inject({ url: '/logout', method: 'POST', headers: { authorization: `Bearer ${token({ alg: 'HS512', typ: 'JWT' }, { sub: 'x' }, (input) => hmac('sha512', JWT_SECRET, input))}` } })
  t.equal(res.statusCode, 401, 'with sign.algorithm it starts, and pins that algorithm')
})

t.test('the @fastify/jwt the plugin registers is pinned to HS256 once, at registration', async (t) => {
  const { app } = await buildApp(t, 'memory')
  t.same(app.jwt.options.verify.algorithms, ['HS256'], 'the verifier made at registration is pinned to HS256')
})
