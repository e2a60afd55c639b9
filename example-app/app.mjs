// The example app: the plugin under /api/auth in cookie mode, a protected GET /me and a page at / to try the flow.
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify from 'fastify'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { Kysely, SqliteDialect } from 'kysely'
import otpLogin, {
  SqlCredentialStore, consoleSender, securitySchemeName, securitySchemes
} from 'fastify-otp-login'

const page = await readFile(new URL('./index.html', import.meta.url), 'utf8')

// @simplewebauthn/browser from the installed package (its UMD bundle: a global SimpleWebAuthnBrowser), never a
// CDN. Its package.json exports only the entry points, so the bundle is found beside the CommonJS one.
export const webauthnScriptPath = '/vendor/simplewebauthn-browser.js'
const webauthnScript = await readFile(
  new URL('../dist/bundle/index.umd.min.js', `file://${createRequire(import.meta.url).resolve('@simplewebauthn/browser')}`), 'utf8')

// The page runs only its own inline script and style (by hash) and the one WebAuthn script (by its exact URL),
// loads nothing from elsewhere and talks only to this origin: an injected script could not run, so the access
// token it keeps in memory stays there.
const hashes = (tag) => [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))]
  .map(([, body]) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`).join(' ')
/** A source with a path allows that one file; it needs the scheme and host, those the page was asked for at. */
const pagePolicy = (origin) => [
  "default-src 'none'", `script-src ${hashes('script')} ${origin}${webauthnScriptPath}`, `style-src ${hashes('style')}`,
  'img-src data:', "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
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

/** The key in `file`, or a new random one written there on first use. */
async function keptKey (file, log) {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if (err.code !== 'ENOENT') throw err
  }
  const key = randomBytes(32).toString('hex')
  await writeFile(file, key + '\n', { mode: 0o600, flag: 'wx' })
  log.warn(`TOTP_ENCRYPTION_KEY is not set: made one and kept it in ${file}`)
  return key
}

/**
 * @param {object} [options]
 * @param {string} [options.redisUrl] Redis to keep codes in; without it, the in-process MemoryStore.
 * @param {string} [options.credentialsFile] a SQLite file to keep authenticators in (created with its directory
 *   on first start): they survive restarts. Without it, Redis (with redisUrl) or this process's memory.
 * @param {import('fastify-otp-login').SendFn} [options.send] how codes go out; default: printed to the console.
 * @param {boolean | object} [options.logger] Fastify's logger option.
 * @param {number} [options.port] the port the app listens on: passkeys work on http://localhost:<port> (and :3000).
 */
export async function buildExampleApp ({ redisUrl, credentialsFile, send = consoleSender(), logger = true, port = 3000 } = {}) {
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

  let totpEncryptionKey = process.env.TOTP_ENCRYPTION_KEY
  let credentialStore
  if (credentialsFile) {
    // Authenticators in a SQLite file: durable across restarts (docs/authenticators.md, "Credentials in SQL").
    await mkdir(dirname(credentialsFile), { recursive: true })
    const db = new Kysely({ dialect: new SqliteDialect({ database: new Database(credentialsFile) }) })
    app.addHook('onClose', async () => { await db.destroy() })
    credentialStore = new SqlCredentialStore(db)
    await credentialStore.migrate()
    // The secrets in the file are encrypted under this key, so it must outlive restarts too: without
    // TOTP_ENCRYPTION_KEY, one is made on first start and kept next to the file (readable by this user only).
    totpEncryptionKey ||= await keptKey(join(dirname(credentialsFile), 'totp-encryption.key'), app.log)
  }

  // Authenticator secrets are encrypted under this key: a random one means every authenticator set up is
  // unreadable after a restart (and, with the MemoryStore, gone anyway).
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
    // Passkeys belong to a domain name (the rpId), never an IP address: the page is opened at http://localhost.
    passkeys: {
      rpId: 'localhost',
      rpName: 'fastify-otp-login example',
      origins: [...new Set(['http://localhost:3000', `http://localhost:${port}`])]
    },
    ...storeOptions,
    // Authenticators and passkeys: in the SQLite file; without one, in Redis (RedisCredentialStore) or in memory.
    ...(credentialStore ? { credentialStore } : {}),
    ...(process.env.DEFAULT_COUNTRY ? { defaultCountry: process.env.DEFAULT_COUNTRY } : {})
  })

  app.get('/', { schema: { hide: true } }, async (request, reply) => reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', pagePolicy(`${request.protocol}://${request.host}`))
    .header('cache-control', 'no-store')
    .send(page))
  app.get(webauthnScriptPath, { schema: { hide: true } }, async (request, reply) => reply
    .type('text/javascript; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(webauthnScript))
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
