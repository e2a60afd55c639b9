import type { FastifyJWTOptions } from '@fastify/jwt'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { Redis, type Cluster } from 'ioredis'
import { describe, expect, test } from 'tstyche'
import otpLogin, {
  IdentifierTakenError, MemoryStore, RedisStore, consoleSender, fastifyOtpLogin, smtpSender, twilioSender, webhookSender,
  type FindOrCreateUser, type LinkIdentifier, type LinkIdentifierArgs, type OtpEvent, type OtpEventHandler, type OtpLoginOptions, type OtpStore, type OtpSessions, type OtpUser, type SendArgs, type SendFn,
  type SessionView, type TotpStore, RedisCredentialStore, RedisTotpStore, type CredentialStore, type OtpCredentials, type OtpCredentialsView
} from '../../lib/index.js'
import type { optionsSchema } from '../../lib/options-schema.js'

const app = Fastify()

describe('options', () => {
  test('the schema is the interface', () => {
    expect<keyof OtpLoginOptions>().type.toBe<keyof typeof optionsSchema.properties>()
  })

  test('the minimal registration and every option', () => {
    expect(app.register).type.toBeCallableWith(otpLogin, { send: consoleSender(), jwt: { secret: 'x' } })
    expect<OtpLoginOptions>().type.toBeAssignableFrom({
      prefix: '/auth',
      identifierKinds: ['phone', 'email'] as const,
      send: async (args: SendArgs) => { console.log(args.channel, args.to, args.expiresIn, args.request.id) },
      redis: new Redis({ lazyConnect: true }),
      store: new MemoryStore(),
      keyPrefix: 'otp:',
      codeSecret: 'x'.repeat(32),
      jwt: { secret: 'x' },
      accessTokenTtl: '15m',
      refreshTokenTtl: false as const,
      codeLength: 6,
      codeTtl: 600,
      maxSends: 3,
      lockout: 3600,
      resendInterval: 30,
      maxAttempts: 5,
      maxFailures: 10,
      defaultCountry: 'IN' as const,
      allowedCountries: ['IN', 'US'] as const,
      findOrCreateUser: async ({ phone, email }: { phone?: string, email?: string }) => ({ id: phone ?? email ?? '', role: 'admin' }),
      rateLimit: { login: { max: 10, timeWindow: '1 minute' } },
      testIdentities: { '+15550000000': '123456' },
      allowTestIdentitiesInProduction: false,
      smsBudget: { 91: 1000, '*': 100 },
      onEvent: (event: OtpEvent) => { console.log(event.type) }
    })
  })

  test('onEvent: a host call\'s event has no request; a handler written before host events still fits', () => {
    expect<OtpEventHandler>().type.toBeAssignableFrom((event: OtpEvent, request: FastifyRequest) => { request.log.info(event.type) })
    expect<Parameters<OtpEventHandler>[1]>().type.toBe<FastifyRequest | undefined>()
    expect<Extract<OtpEvent, { by: 'host' }>['ip']>().type.toBe<undefined>()
    expect<Exclude<OtpEvent, { by: 'host' }>['ip']>().type.toBe<string>()
    expect<OtpEvent['by']>().type.toBe<'host' | undefined>()
  })

  test('send is required, and option types are checked', () => {
    expect(app.register).type.not.toBeCallableWith(otpLogin, { jwt: { secret: 'x' } })
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), codeLength: '6' })
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), identifierKinds: ['sms'] })
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), defaultCountry: 'India' })
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), rateLimit: true })
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), findOrCreateUser: () => ({ name: 'no id' }) })
  })

  test('callbacks, clients and stores keep their precise types', () => {
    expect<OtpLoginOptions['send']>().type.toBe<SendFn>()
    expect<OtpLoginOptions['redis']>().type.toBe<Redis | Cluster | undefined>()
    expect<OtpLoginOptions['store']>().type.toBe<OtpStore | undefined>()
    expect<OtpLoginOptions['totpStore']>().type.toBe<TotpStore | undefined>()
    expect<OtpLoginOptions['credentialStore']>().type.toBe<CredentialStore | undefined>()
    expect<OtpLoginOptions['totpEncryptionKey']>().type.toBe<string | readonly string[] | undefined>()
    expect<OtpLoginOptions['jwt']>().type.toBe<FastifyJWTOptions | undefined>()
    expect<OtpLoginOptions['onEvent']>().type.toBe<OtpEventHandler | undefined>()
    expect<OtpLoginOptions['findOrCreateUser']>().type.toBe<FindOrCreateUser | undefined>()
    expect<OtpLoginOptions['totpClock']>().type.toBe<(() => number) | undefined>()
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), captcha: { verify: (token: number) => token > 0 } })
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), store: { issueCode: async () => ({ status: 'issued' as const }) } })
  })

  test('findOrCreateUser gets a phone or an e-mail address, never both', () => {
    const options: OtpLoginOptions = {
      send: consoleSender(),
      findOrCreateUser: (args) => {
        expect(args.phone).type.toBe<string | undefined>()
        if (args.phone === undefined) expect(args.email).type.toBe<string>()
        return { id: 'u1' }
      }
    }
    expect(options).type.toBeAssignableTo<OtpLoginOptions>()
  })
  test('linkIdentifier gets the user, the normalised identifier and its kind', () => {
    const options: OtpLoginOptions = {
      send: consoleSender(),
      linkIdentifier: async (args) => {
        expect(args).type.toBe<LinkIdentifierArgs>()
        expect(args.kind).type.toBe<'phone' | 'email'>()
        expect(args.request).type.toBe<FastifyRequest>()
        throw new IdentifierTakenError()
      },
      endSessionsOnIdentifierChange: 'all'
    }
    expect(options).type.toBeAssignableTo<OtpLoginOptions>()
    expect<OtpLoginOptions['linkIdentifier']>().type.toBe<LinkIdentifier | undefined>()
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), endSessionsOnIdentifierChange: 'mine' as const })
  })
})

describe('the plugin', () => {
  test('default and named exports are the same plugin', () => {
    expect(otpLogin).type.toBe(fastifyOtpLogin)
  })

  test('app.authenticate is an onRequest handler', () => {
    expect(app.authenticate).type.toBe<(request: FastifyRequest, reply: FastifyReply) => Promise<void>>()
    expect(app.get).type.toBeCallableWith('/me', { onRequest: [app.authenticate] }, async () => 'ok')
  })

  test('app.requireFreshAuth(maxAge?) gives an onRequest handler', () => {
    expect(app.requireFreshAuth()).type.toBe<(request: FastifyRequest, reply: FastifyReply) => Promise<void>>()
    expect(app.requireFreshAuth).type.toBeCallableWith(60)
    expect(app.requireFreshAuth).type.not.toBeCallableWith('60')
    expect(app.delete).type.toBeCallableWith('/account', { onRequest: [app.requireFreshAuth(60)] }, async () => 'gone')
  })

  test('app.otpSessions lists and ends sessions', () => {
    expect(app.otpSessions).type.toBe<OtpSessions>()
    expect(app.otpSessions.list('u1')).type.toBe<Promise<SessionView[]>>()
    expect(app.otpSessions.revoke('u1', 'sid')).type.toBe<Promise<boolean>>()
    expect(app.otpSessions.revokeAll('u1')).type.toBe<Promise<number>>()
  })

  test('app.otpCredentials shows and removes credentials', () => {
    expect(app.otpCredentials).type.toBe<OtpCredentials>()
    expect(app.otpCredentials.get('u1')).type.toBe<Promise<OtpCredentialsView>>()
    expect<OtpCredentialsView['totp']>().type.toBe<{ enabled: boolean, recoveryCodesLeft: number | null } | null>()
    expect(app.otpCredentials.removeTotp('u1')).type.toBe<Promise<boolean>>()
    expect(app.otpCredentials.removePasskey('u1', 'id')).type.toBe<Promise<boolean>>()
  })

  test('the new options', () => {
    expect<OtpLoginOptions>().type.toBeAssignableFrom({
      send: consoleSender(),
      totpMode: 'second-factor' as const,
      freshAuthAge: 300,
      maxSessions: 10,
      trustedDevices: { ttl: '30d' },
      cookie: { sameSite: 'lax' as const },
      allowedOrigins: ['https://app.example.com'],
      captcha: { provider: 'turnstile' as const, secret: 's' },
      sessionCache: false as const,
      storeTimeout: 1000
    })
    expect<OtpLoginOptions>().type.not.toBeAssignableFrom({ send: consoleSender(), totpMode: 'both' })
    expect<OtpLoginOptions>().type.toBeAssignableFrom({ send: consoleSender(), captcha: { verify: async (token: string) => token === 'ok' } })
  })

  test('request.user is the token payload', () => {
    app.get('/me', { onRequest: [app.authenticate] }, async (request) => {
      expect(request.user).type.toBe<OtpUser>()
      expect(request.user.sub).type.toBe<string>()
      expect(request.user.phone).type.toBe<string | undefined>()
      expect(request.user.email).type.toBe<string | undefined>()
      expect(request.user.exp).type.toBe<number>()
      expect(request.user.amr).type.toBe<string[] | undefined>()
      expect(request.user.auth_time).type.toBe<number | undefined>()
      expect(request.user.role).type.toBe<unknown>()
      return request.user.sub
    })
  })
})

describe('senders, stores and events', () => {
  test('consoleSender is a SendFn', () => {
    expect(consoleSender()).type.toBe<SendFn>()
    expect(consoleSender).type.toBeCallableWith({ write: (line: string) => { console.log(line) } })
    expect(consoleSender).type.not.toBeCallableWith({ write: 'stdout' })
  })

  test("the senders' options are typed from their schemas", () => {
    expect(twilioSender).type.toBeCallableWith({ accountSid: 'AC1', authToken: 't', from: '+15550000000', templates: { sms: 'Code {code}' } })
    expect(twilioSender).type.not.toBeCallableWith({ accountSid: 'AC1' })
    expect(twilioSender).type.not.toBeCallableWith({ accountSid: 'AC1', authToken: 't', from: '+1', templates: { email: { subject: 's', text: '{code}' } } })
    expect(smtpSender).type.toBeCallableWith({ host: 'smtp.example.com', from: 'a@example.com', auth: { user: 'u', pass: 'p' }, tls: { servername: 'x' } })
    expect(smtpSender).type.not.toBeCallableWith({ host: 'smtp.example.com', from: 'a@example.com', port: '587' })
    expect(webhookSender).type.toBeCallableWith({ url: 'https://example.com', secret: 'whsec_x', headers: { 'x-key': 'k' } })
    expect(webhookSender).type.not.toBeCallableWith({ url: 'https://example.com', secret: 'whsec_x', headers: { 'x-key': 1 } })
  })

  test('both stores implement OtpStore', () => {
    expect<OtpStore>().type.toBeAssignableFrom(new MemoryStore())
    expect<OtpStore>().type.toBeAssignableFrom(new RedisStore({ client: new Redis({ lazyConnect: true }) }))
    expect<OtpStore>().type.not.toBeAssignableFrom({ issueCode: async () => ({ status: 'issued' as const }) })
  })

  test('events are a closed set of types', () => {
    expect<OtpEvent['type']>().type.toBeAssignableFrom('verified' as const)
    expect<OtpEvent['type']>().type.not.toBeAssignableFrom('hacked' as const)
  })
})

describe('RedisCredentialStore', () => {
  test('a CredentialStore on a Redis or a Cluster; RedisTotpStore takes the 0.1 form too', () => {
    const redis = new Redis({ lazyConnect: true })
    expect<CredentialStore>().type.toBeAssignableFrom(new RedisCredentialStore(redis))
    expect(RedisCredentialStore).type.toBeConstructableWith(redis, { keyPrefix: 'app:', acceptDataLoss: true })
    expect(RedisCredentialStore).type.toBeConstructableWith({} as Cluster)
    expect(RedisCredentialStore).type.not.toBeConstructableWith(redis, { acceptDataLoss: 'yes' })
    expect(RedisTotpStore).type.toBeConstructableWith({ client: redis, keyPrefix: 'app:' })
    expect(RedisTotpStore).type.toBeConstructableWith(redis, { keyPrefix: 'app:' })
  })
})
