import Fastify from 'fastify'
import t from 'tap'
import otpLogin, { MemoryStore } from '../lib/index.js'
import { ensureDefaults } from '../lib/options.js'
import { CODE_SECRET, freshRedis, restoreEnv, readyWith } from './helpers/app.js'

const base = { send: () => {}, jwt: { secret: 'a-jwt-secret-that-is-long-enough-0000' } }

t.test('bad options fail app.ready() with a message naming the option', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no send', { jwt: base.jwt }, /option "send" is required/],
    ['send not a function', { ...base, send: 'sms' }, /option "send"/],
    ['unknown option (a typo)', { ...base, maxAttemps: 3 }, /unknown option "maxAttemps"/],
    ['codeLength too short', { ...base, codeLength: 4 }, /option "codeLength" must be an integer from 6 to 10 \(got 4\)/],
    ['codeLength not an integer', { ...base, codeLength: 6.5 }, /option "codeLength"/],
    ['codeLength a string', { ...base, codeLength: '6' }, /option "codeLength"/],
    ['codeTtl zero', { ...base, codeTtl: 0 }, /option "codeTtl"/],
    ['maxSends negative', { ...base, maxSends: -1 }, /option "maxSends"/],
    ['lockout NaN', { ...base, lockout: Number.NaN }, /option "lockout"/],
    ['resendInterval negative', { ...base, resendInterval: -5 }, /option "resendInterval"/],
    ['maxAttempts zero', { ...base, maxAttempts: 0 }, /option "maxAttempts"/],
    ['maxFailures Infinity', { ...base, maxFailures: Infinity }, /option "maxFailures"/],
    ['defaultCountry unknown', { ...base, defaultCountry: 'XX' }, /option "defaultCountry"/],
    ['allowedCountries empty', { ...base, allowedCountries: [] }, /option "allowedCountries"/],
    ['allowedCountries with a bad code', { ...base, allowedCountries: ['IN', 'india'] }, /option "allowedCountries"/],
    ['accessTokenTtl nonsense', { ...base, accessTokenTtl: 'forever' }, /option "accessTokenTtl"/],
    ['accessTokenTtl under a second', { ...base, accessTokenTtl: 0 }, /option "accessTokenTtl"/],
    ['findOrCreateUser not a function', { ...base, findOrCreateUser: {} }, /option "findOrCreateUser"/],
    ['rateLimit true', { ...base, rateLimit: true }, /option "rateLimit"/],
    ['rateLimit.login.max zero', { ...base, rateLimit: { login: { max: 0, timeWindow: 1000 } } }, /option "rateLimit\.login\.max"/],
    ['rateLimit.verify.timeWindow bad', { ...base, rateLimit: { verify: { max: 1, timeWindow: 'soon' } } }, /option "rateLimit\.verify\.timeWindow"/],
    ['rateLimit unknown route', { ...base, rateLimit: { logout: { max: 1, timeWindow: 1 } } }, /unknown option "rateLimit\.logout"/],
    ['redis not a client', { ...base, redis: 'redis://127.0.0.1', codeSecret: CODE_SECRET }, /option "redis"/],
    ['store missing methods', { ...base, store: { get: () => {} }, codeSecret: CODE_SECRET }, /option "store"/],
    ['store without codeSecret', { ...base, store: new MemoryStore() }, /option "codeSecret" is required/],
    ['codeSecret too short', { ...base, codeSecret: 'short' }, /option "codeSecret" must be a string of at least 32 characters \(got 5 characters\)/],
    ['keyPrefix with a brace', { ...base, keyPrefix: 'otp{' }, /option "keyPrefix"/],
    ['prefix without a slash', { ...base, prefix: 'api' }, /option "prefix"/],
    ['prefix with a trailing slash', { ...base, prefix: '/api/' }, /option "prefix"/],
    ['jwt not an object', { ...base, jwt: 'secret' }, /option "jwt"/],
    ['jwt.secret too short', { ...base, jwt: { secret: 'short' } }, /option "jwt.secret" must be at least 32 characters \(got 5\)/],
    ['sendTimeout too short', { ...base, sendTimeout: 10 }, /option "sendTimeout"/]
  ]
  for (const [name, options, message] of cases) {
    await t.rejects(readyWith(options), message, name)
  }
  const error = await readyWith({ ...base, codeSecret: 'hunter2-is-my-secret' }).catch((err: Error) => err)
  t.match(error, { message: /codeSecret/ })
  t.notMatch(String(error), 'hunter2', 'a short secret is not echoed')
})

t.test('redis without codeSecret fails startup', async (t) => {
  const redis = await freshRedis()
  await t.rejects(readyWith({ ...base, redis }), /option "codeSecret" is required with "redis" or "store"/)
})

t.test('good options start', async (t) => {
  await t.resolves(readyWith(base), 'defaults')
  await t.resolves(readyWith({
    ...base,
    prefix: '/auth',
    keyPrefix: 'myapp:otp:',
    codeSecret: CODE_SECRET,
    store: new MemoryStore(),
    accessTokenTtl: '2h',
    codeLength: 10,
    codeTtl: 300,
    maxSends: 5,
    lockout: 600,
    resendInterval: 0,
    maxAttempts: 3,
    maxFailures: 6,
    defaultCountry: 'IN',
    allowedCountries: ['IN'],
    findOrCreateUser: () => ({ id: '1' }),
    rateLimit: { login: { max: 5, timeWindow: '1 minute' } }
  }), 'every option set')
  await t.resolves(readyWith({ ...base, rateLimit: false }), 'rate limits off')
})

t.test('the MemoryStore default warns in production', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  const env = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => { restoreEnv('NODE_ENV', env) })
  await app.register(otpLogin, base)
  await app.ready()
  t.match(lines.join(''), /MemoryStore/)
})

t.test('each message names the option, says what it must be and what was given, never a secret', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...base, rateLimit: { foo: 1 } }, 'unknown option "rateLimit.foo"'],
    [{ ...base, rateLimit: { login: { max: 1 } } }, 'option "rateLimit.login.timeWindow" must be milliseconds or a duration like "1 minute" (got undefined)'],
    [{ ...base, trustedDevices: { ttl: 'soon' } }, 'option "trustedDevices.ttl" must be a number of seconds or a duration like "15m", of at least one second (got "soon")'],
    [{ ...base, sessionCache: { max: 0 } }, 'option "sessionCache.max" must be an integer from 1 to 10000000 (got 0)'],
    [{ ...base, smsBudget: { india: 5 } }, 'option "smsBudget" keys must be country calling codes like \'91\' or \'*\' (got "india")'],
    [{ ...base, smsBudget: { 91: 0 } }, 'option "smsBudget.91" must be a positive integer (codes per hour) (got 0)'],
    [{ ...base, allowedCountries: ['IN', 'XX'] }, 'option "allowedCountries" must be an ISO 3166-1 alpha-2 country code that libphonenumber-js supports, like "IN" (got "XX")'],
    [{ ...base, identifierKinds: ['phone', 'sms'] }, 'option "identifierKinds" must be [\'phone\'], [\'email\'] or [\'phone\', \'email\'] (got an array)'],
    [{ ...base, testIdentities: { '+15550000000': 123456 } }, 'option "testIdentities["+15550000000"]" must be a string of codeLength (6) digits (got number)'],
    [{ ...base, codeSecret: 'a'.repeat(31) }, 'option "codeSecret" must be a string of at least 32 characters (got 31 characters)'],
    [{ ...base, totpEncryptionKey: 'a'.repeat(63) }, 'option "totpEncryptionKey" must be 32 bytes as 64 hex digits or as base64, or a list of 1 to 8 such keys (newest first, none twice) (got 63 characters)'],
    [{ ...base, captcha: { verify: () => true, secret: 's3cret' } }, 'option "captcha.secret" does not go with "captcha.verify"'],
    [{ ...base, cookie: { sameSite: 'none', secure: false } }, 'option "cookie.secure" must be true with sameSite \'none\' (browsers refuse such cookies otherwise) (got false)'],
    // With two mistakes, the unknown name is reported first, then the schema's order.
    [{ ...base, codeLength: 4, colour: 'red' }, 'unknown option "colour"'],
    [{ jwt: base.jwt, prefix: 'api' }, 'option "prefix" must be "" or a path like "/api/auth" (leading slash, no trailing slash) (got "api")']
  ]
  for (const [options, message] of cases) {
    const error = await readyWith(options).catch((err: Error) => err)
    t.equal(error instanceof Error ? error.message : error, `fastify-otp-login: ${message}`)
  }
  await t.resolves(readyWith({ ...base, logLevel: 'warn' }), "Fastify's own plugin options are not the plugin's")
})

t.test('defaults come from the schema, durations in seconds', async (t) => {
  const send = (): void => {}
  const settings = ensureDefaults({ send, rateLimit: { login: { max: 3, timeWindow: 1000 } }, trustedDevices: {}, sessionCache: { ttl: 50 } })
  t.match(settings, {
    prefix: '',
    identifierKinds: new Set(['phone']),
    keyPrefix: 'otp:',
    accessTokenTtl: 900,
    refreshTokenTtl: 30 * 86400,
    codeLength: 6,
    codeTtl: 600,
    maxSends: 3,
    lockout: 3600,
    resendInterval: 30,
    maxAttempts: 5,
    maxFailures: 10,
    sendTimeout: 10_000,
    storeTimeout: 2000,
    freshAuthAge: 300,
    maxSessions: 50,
    trustedDevices: { ttl: 90 * 86400 },
    cookie: false,
    captcha: undefined,
    totp: undefined,
    sessionCache: { max: 10_000, ttl: 50 }
  })
  t.same(settings.rateLimit, {
    login: { max: 3, timeWindow: 1000 },
    verify: { max: 30, timeWindow: '1 minute' },
    refresh: { max: 30, timeWindow: '1 minute' },
    account: { max: 30, timeWindow: '1 minute' }
  }, 'a route left out keeps its default')
  t.equal(settings.codeSecret.length, 43, 'a random key per process without redis or store')
  t.match(ensureDefaults({ send, cookie: { name: 'sid' }, prefix: '/auth' }).cookie, { refreshName: 'sid', deviceName: 'sid_device', path: '/auth', sameSite: 'strict', secure: true })
})

t.test('a client, store or jwt given as a string is not echoed: it may be a URL with a password or a key', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['redis', { ...base, redis: 'redis://:hunter2pass@10.0.0.1:6379', codeSecret: CODE_SECRET }],
    ['store', { ...base, store: 'postgres://app:hunter2pass@db/otp', codeSecret: CODE_SECRET }],
    ['jwt', { send: () => {}, jwt: 'hunter2pass-a-jwt-secret-as-a-string' }]
  ]
  for (const [name, options] of cases) {
    const error = await readyWith(options).catch((err: Error) => err)
    t.match(String(error), new RegExp(`option "${name}" .*\\(got a string\\)`), name)
    t.notMatch(String(error), 'hunter2pass', `${name}: the value is not shown`)
  }
})

t.test('lengths count characters (code points), not UTF-16 units', async (t) => {
  // 20 emoji are 40 UTF-16 units but 20 characters: too short a secret; 40 emoji are 40 characters of a prefix.
  await t.rejects(readyWith({ ...base, codeSecret: '😀'.repeat(20) }), /option "codeSecret" must be a string of at least 32 characters/)
  await t.resolves(readyWith({ ...base, keyPrefix: '😀'.repeat(40) }))
})
