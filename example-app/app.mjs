// The example app: the plugin under /api/auth, a protected GET /me and a page at / to try the flow.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import otpLogin, { consoleSender } from 'fastify-otp-login'

const page = await readFile(new URL('./index.html', import.meta.url), 'utf8')

/**
 * @param {object} [options]
 * @param {string} [options.redisUrl] Redis to keep codes in; without it, the in-process MemoryStore.
 * @param {import('fastify-otp-login').SendFn} [options.send] how codes go out; default: printed to the console.
 * @param {boolean | object} [options.logger] Fastify's logger option.
 */
export async function buildExampleApp ({ redisUrl, send = consoleSender(), logger = true } = {}) {
  const app = Fastify({ logger })

  let storeOptions = {}
  if (redisUrl) {
    if (!process.env.OTP_CODE_SECRET) throw new Error('Set OTP_CODE_SECRET (32+ characters) when REDIS_URL is set')
    // Fail fast: while Redis is down, requests get 503 at once instead of waiting in ioredis's offline queue.
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 })
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis connection error'))
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

  await app.register(otpLogin, {
    prefix: '/api/auth',
    channels: ['phone', 'email'],
    jwt: { secret: jwtSecret },
    send,
    totpEncryptionKey,
    totpIssuer: 'fastify-otp-login example',
    ...storeOptions,
    ...(process.env.DEFAULT_COUNTRY ? { defaultCountry: process.env.DEFAULT_COUNTRY } : {})
  })

  app.get('/', async (request, reply) => reply.type('text/html; charset=utf-8').send(page))
  app.get('/me', { onRequest: [app.authenticate] }, async (request) => ({ user: request.user }))
  return app
}
