// The example app: the plugin under /api/auth in cookie mode, a protected GET /me and a page at / to try the flow.
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import otpLogin, {
  consoleSender, securitySchemeName, securitySchemes
} from 'fastify-otp-login'

const page = await readFile(new URL('./index.html', import.meta.url), 'utf8')

// The page runs only its own inline script and style (by hash), loads nothing from elsewhere and talks only to
// this origin: an injected script could not run, so the access token it keeps in memory stays there.
const hashes = (tag) => [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))]
  .map(([, body]) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`).join(' ')
const pagePolicy = [
  "default-src 'none'", `script-src ${hashes('script')}`, `style-src ${hashes('style')}`, 'img-src data:',
  "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
].join('; ')

// The body of every error the plugin and app.authenticate answer with.
const errorBody = {
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } }
}

/**
 * Fail fast: while Redis is down a request gets 503 at once, instead of waiting in ioredis's offline queue
 * through 20 retries. ioredis's default retryStrategy keeps reconnecting (50 ms, 100 ms, ... at most 2 s apart).
 * A Redis that hangs: commands fail after commandTimeout, a little under the plugin's storeTimeout (2000 ms).
 */
export const redisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1500, connectTimeout: 2000 }

/**
 * @param {object} [options]
 * @param {string} [options.redisUrl] Redis to keep codes in; without it, the in-process MemoryStore.
 * @param {import('fastify-otp-login').SendFn} [options.send] how codes go out; default: printed to the console.
 * @param {boolean | object} [options.logger] Fastify's logger option.
 */
export async function buildExampleApp ({ redisUrl, send = consoleSender(), logger = true } = {}) {
  const app = Fastify({
    logger,
    // On close (SIGTERM): stop accepting connections, close idle keep-alive ones, answer 503 to requests that
    // still arrive on busy ones, and let requests in flight finish. onClose hooks (Redis) run after them.
    return503OnClosing: true,
    forceCloseConnections: 'idle'
  })
  // A keep-alive connection that goes idle after close() began would hold close() for keepAliveTimeout (72 s,
  // fastify/fastify#7044): while closing, every response asks its client to close the connection.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (request, reply) => { if (closing) reply.header('connection', 'close') })

  let storeOptions = {}
  if (redisUrl) {
    if (!process.env.OTP_CODE_SECRET) throw new Error('Set OTP_CODE_SECRET (32+ characters) when REDIS_URL is set')
    const redis = new Redis(redisUrl, { ...redisOptions, lazyConnect: true })
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis connection error'))
    try {
      await redis.connect() // take no traffic before Redis answers; refuse to start if it does not
    } catch (err) {
      redis.disconnect()
      throw new Error('Redis at REDIS_URL does not answer: not starting', { cause: err })
    }
    app.addHook('onClose', async () => { await redis.quit() })
    storeOptions = { redis, codeSecret: process.env.OTP_CODE_SECRET }
  }

  // Authenticator secrets are encrypted under this key: a random one means every authenticator set up is
  // unreadable after a restart (and, with the MemoryStore, gone anyway).
  let totpEncryptionKey = process.env.TOTP_ENCRYPTION_KEY
  if (!totpEncryptionKey) {
    totpEncryptionKey = randomBytes(32).toString('hex')
    app.log.warn('TOTP_ENCRYPTION_KEY is not set: using a random one, so authenticators set up now stop working on restart')
  }

  let jwtSecret = process.env.JWT_SECRET
  if (!jwtSecret) {
    jwtSecret = randomBytes(32).toString('base64url')
    app.log.warn('JWT_SECRET is not set: using a random one, so tokens die with this process')
  }

  // OpenAPI docs at /docs, built from the plugin's route schemas (registered first, to see every route). The
  // plugin's authenticated routes and /me name the bearer scheme `securitySchemes` defines: an app defines it
  // (the plugin adds it to a document that lacks it, but then the app's own routes could not count on it).
  await app.register(swagger, {
    openapi: {
      info: { title: 'fastify-otp-login example', version: '1.0.0', license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' } },
      servers: [{ url: '/', description: 'the server that serves these docs' }],
      components: { securitySchemes }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  await app.register(otpLogin, {
    prefix: '/api/auth',
    identifierKinds: ['phone', 'email'],
    jwt: { secret: jwtSecret },
    send,
    totpEncryptionKey,
    totpIssuer: 'fastify-otp-login example',
    // Cookie mode: the refresh and device tokens live in HttpOnly cookies under /api/auth, out of the page's reach.
    cookie: {},
    ...storeOptions,
    ...(process.env.DEFAULT_COUNTRY ? { defaultCountry: process.env.DEFAULT_COUNTRY } : {})
  })

  app.get('/', { schema: { hide: true } }, async (request, reply) => reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', pagePolicy)
    .header('cache-control', 'no-store')
    .send(page))
  app.get('/me', {
    onRequest: [app.authenticate],
    schema: {
      operationId: 'getMe',
      summary: 'The logged-in user: the access token\'s claims',
      security: [{ [securitySchemeName]: [] }],
      response: {
        200: {
          description: 'The claims',
          type: 'object',
          properties: { user: { type: 'object', additionalProperties: true } }
        },
        401: { description: '`FST_JWT_…`: no, bad, expired or revoked access token', ...errorBody },
        503: { description: '`OTP_STORE_UNAVAILABLE`: the store cannot be reached', ...errorBody }
      }
    }
  }, async (request) => ({ user: request.user }))
  // Whether the signed-in user has an authenticator on, through app.otpCredentials (a store failure rejects
  // with OTP_STORE_UNAVAILABLE, an error with statusCode 503, which Fastify answers as such).
  app.get('/api/account', {
    onRequest: [app.authenticate],
    schema: {
      operationId: 'getAccount',
      summary: 'The logged-in user\'s account: whether an authenticator app is on',
      security: [{ [securitySchemeName]: [] }],
      response: {
        200: {
          description: 'The account',
          type: 'object',
          required: ['authenticator'],
          properties: {
            authenticator: { type: 'object', required: ['enabled'], properties: { enabled: { type: 'boolean' } } }
          }
        },
        401: { description: '`FST_JWT_…`: no, bad, expired or revoked access token', ...errorBody },
        503: { description: '`OTP_STORE_UNAVAILABLE`: the store cannot be reached', ...errorBody }
      }
    }
  }, async (request) => {
    // In second-factor mode an authenticator belongs to the user (docs/authenticators.md).
    const { totp } = await app.otpCredentials.get(request.user.sub)
    return { authenticator: { enabled: totp?.enabled === true } }
  })
  return app
}
