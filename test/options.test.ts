import Fastify from 'fastify'
import t from 'tap'
import otpLogin, { MemoryStore } from '../lib/index.js'
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
