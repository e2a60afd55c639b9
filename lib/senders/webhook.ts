import { createHmac, timingSafeEqual } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import type { Channel } from '../identity.js'
import { randomId } from '../fast-paths/random-pool.js'
import { DEFAULT_TIMEOUT, callProvider, senderFail, senderOption, senderOptions, withoutSlash, type Fail, type SendArgs } from './delivery.js'
import { messageRenderers, requestLocale, templatesOption, type EmailMessage } from './template.js'

const secretRule = 'must be a Standard Webhooks secret, "whsec_" and the base64 of 24 to 64 random bytes ' +
  '("whsec_" + crypto.randomBytes(32).toString(\'base64\') makes one)'

const webhookOptions = Type.Object({
  /** Where the JSON is POSTed; use https unless the receiver is on the same host or a private network. */
  url: senderOption.url(),
  /** A Standard Webhooks secret shared with the receiver: `whsec_` and the base64 of 24 to 64 random bytes. */
  secret: Type.String({ rule: `${secretRule}; got no string` }),
  /** Extra request headers, such as an API gateway's key. */
  headers: Type.Optional(Type.Record(Type.String(), Type.String({ rule: 'must be a string' }), { rule: 'must be an object of header names and string values' })),
  /** Milliseconds to wait for the receiver's answer; default 5000. */
  timeout: senderOption.timeout(),
  /** Used by the default texts: "Your <appName> code is …". */
  appName: senderOption.appName(),
  templates: templatesOption(['sms', 'email'])
}, { additionalProperties: false })

export type WebhookSenderOptions = Static<typeof webhookOptions>

/** The JSON body of a webhook request. */
export type WebhookPayload = {
  to: string
  code: string
  /** Seconds the code stays valid. */
  expiresIn: number
  /** From `Accept-Language` (see README), or null. */
  locale: string | null
} & ({ channel: 'sms', message: string } | { channel: 'email', message: EmailMessage })

export const idHeader = 'webhook-id'
export const timestampHeader = 'webhook-timestamp'
export const signatureHeader = 'webhook-signature'
const provider = 'webhook'
const reservedHeaders = new Set(['content-type', 'content-length', 'host', idHeader, timestampHeader, signatureHeader])
const checkOptions = senderOptions('webhookSender', webhookOptions)
const fail: Fail = senderFail('webhookSender')

/**
 * The key in a Standard Webhooks secret, `whsec_` and the base64 of 24 to 64 random bytes, or what is wrong
 * with it. That never quotes the secret, only its length.
 */
function webhookKey (secret: unknown): Buffer | string {
  if (typeof secret !== 'string') return 'got no string'
  if (!secret.startsWith('whsec_')) return `got ${secret.length} characters without "whsec_"`
  const encoded = secret.slice('whsec_'.length)
  const key = Buffer.from(encoded, 'base64')
  // Buffer.from skips characters that are not base64, so only a canonical round trip proves the encoding.
  if (encoded === '' || key.toString('base64') !== encoded) return `got ${secret.length} characters that are not "whsec_" and standard base64`
  if (key.length < 24 || key.length > 64) return `got ${key.length} bytes`
  return key
}

/** `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`: one signature of the Standard Webhooks scheme. */
function sign (key: Buffer, id: string, timestamp: string, body: string | Buffer): string {
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')
}

/**
 * POSTs each code as JSON to your URL, signed as the Standard Webhooks specification says: `webhook-id`
 * (`msg_` and 16 random bytes, one per delivery), `webhook-timestamp` (Unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`, the key being the
 * bytes the `whsec_` secret encodes. Any 2xx answer is a success.
 */
export function webhookSender (opts: WebhookSenderOptions): (args: SendArgs) => Promise<void> {
  const { secret, headers: given = {}, timeout = DEFAULT_TIMEOUT, ...texts } = checkOptions(opts)
  const url = withoutSlash(texts.url)
  const headers = { ...given }
  const key = webhookKey(secret)
  if (typeof key === 'string') fail('secret', `${secretRule}; ${key}`)
  for (const name of Object.keys(headers)) {
    if (reservedHeaders.has(name.toLowerCase())) fail(`headers.${name}`, 'is set by the sender itself')
  }
  const render = messageRenderers(fail, texts)

  return async function sendWithWebhook (args) {
    const base = { to: args.to, code: args.code, expiresIn: args.expiresIn, locale: requestLocale(args.request) ?? null }
    const payload: WebhookPayload = args.channel === 'email'
      ? { channel: 'email', ...base, message: render.email(args) }
      : { channel: checkKnown(args.channel), ...base, message: render.sms(args) }
    const body = JSON.stringify(payload)
    // One id per delivery: the sender does not retry, and a receiver drops an id it has already seen.
    const id = 'msg_' + randomId(16)
    const timestamp = String(Math.floor(Date.now() / 1000))
    await callProvider(provider, url, {
      method: 'POST',
      headers: {
        'user-agent': 'fastify-otp-login',
        ...headers,
        'content-type': 'application/json',
        [idHeader]: id,
        [timestampHeader]: timestamp,
        [signatureHeader]: sign(key, id, timestamp, body)
      },
      body
    }, { timeout, secrets: [args.code] })
  }
}

function checkKnown (channel: Channel): 'sms' {
  if (channel !== 'sms') throw new Error(`fastify-otp-login: webhookSender does not know the channel "${String(channel)}"`)
  return channel
}

export interface WebhookSignatureInput {
  /** The Standard Webhooks secret shared with the sender: `whsec_` and base64. */
  secret: string
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string | Buffer
  /** The `webhook-id` header. */
  id: string | string[] | undefined
  /** The `webhook-timestamp` header. */
  timestamp: string | string[] | undefined
  /** The `webhook-signature` header: one or more space-separated `v1,<base64>` signatures. */
  signature: string | string[] | undefined
  /** Seconds a request stays acceptable, either way from now; default 300. */
  tolerance?: number
  /** For tests: the current time in milliseconds. */
  now?: number
}

/**
 * For the receiving side of `webhookSender`, or of any Standard Webhooks sender: true when one of the `v1`
 * signatures in the header matches the id, timestamp and body and the timestamp is within `tolerance` seconds
 * of now. Compares in constant time. Any malformed input, a bad secret or tolerance included, gives false,
 * never true and never a throw: a receiver that forgets to check its configuration fails closed.
 */
export function verifyWebhookSignature (input: WebhookSignatureInput): boolean {
  try {
    return verifies(input)
  } catch {
    // Only a hostile input object (a throwing getter, a Proxy) gets here; it is as good as a forgery.
    return false
  }
}

function verifies (input: WebhookSignatureInput): boolean {
  if (typeof input !== 'object' || input === null) return false
  const { secret, body, id, timestamp, signature, tolerance = 300, now = Date.now() } = input
  const key = webhookKey(secret)
  // A NaN or infinite tolerance (from an unset environment variable) would turn the replay window off.
  if (typeof key === 'string' || typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) return false
  if (typeof now !== 'number' || !Number.isFinite(now)) return false
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return false
  if (typeof id !== 'string' || id === '' || typeof signature !== 'string') return false
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false
  if (Math.abs(now / 1000 - Number(timestamp)) > tolerance) return false
  const expected = Buffer.from(sign(key, id, timestamp, body))
  let valid = false
  // Each candidate is compared in full, so the time taken does not tell which one, or which byte, differs.
  for (const candidate of signature.split(' ')) {
    const given = Buffer.from(candidate)
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true
  }
  return valid
}
