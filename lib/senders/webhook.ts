import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Channel, SendArgs } from '../options.js'
import { callProvider, SenderOptions } from './delivery.js'
import { messageRenderers, requestLocale, type EmailMessage, type MessageTemplates } from './template.js'

export interface WebhookSenderOptions {
  /** Where the JSON is POSTed; use https unless the receiver is on the same host or a private network. */
  url: string
  /** HMAC-SHA256 key shared with the receiver; at least 32 characters. */
  secret: string
  /** Extra request headers, such as an API gateway's key. */
  headers?: Record<string, string>
  /** Milliseconds to wait for the receiver's answer; default 5000. */
  timeout?: number
  /** Used by the default texts: "Your <appName> code is …". */
  appName?: string
  templates?: MessageTemplates
}

/** The JSON body of a webhook request. */
export type WebhookPayload = {
  to: string
  code: string
  /** Seconds the code stays valid. */
  expiresIn: number
  /** From `Accept-Language` (see README), or null. */
  locale: string | null
} & ({ channel: 'sms', message: string } | { channel: 'email', message: EmailMessage })

export const timestampHeader = 'x-otp-timestamp'
export const signatureHeader = 'x-otp-signature'
const provider = 'webhook'
const reservedHeaders = new Set(['content-type', 'content-length', 'host', timestampHeader, signatureHeader])

function sign (secret: string, timestamp: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')
}

/**
 * POSTs each code as JSON to your URL, signed: `x-otp-timestamp` (Unix seconds) and
 * `x-otp-signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. Any 2xx answer is a success.
 */
export function webhookSender (opts: WebhookSenderOptions): (args: SendArgs) => Promise<void> {
  const options: SenderOptions = new SenderOptions('webhookSender', opts, ['url', 'secret', 'headers', 'timeout', 'appName', 'templates'])
  const url = options.url('url')
  const secret = options.string('secret')
  if (secret.length < 32) options.fail('secret', `must be at least 32 characters (got ${secret.length})`)
  const headers = checkHeaders(options, options.value('headers'))
  const timeout = options.timeout()
  const render = messageRenderers(options, ['sms', 'email'])

  return async function sendWithWebhook (args) {
    const base = { to: args.to, code: args.code, expiresIn: args.expiresIn, locale: requestLocale(args.request) ?? null }
    const payload: WebhookPayload = args.channel === 'email'
      ? { channel: 'email', ...base, message: render.email(args) }
      : { channel: checkKnown(args.channel), ...base, message: render.sms(args) }
    const body = JSON.stringify(payload)
    const timestamp = String(Math.floor(Date.now() / 1000))
    await callProvider(provider, url, {
      method: 'POST',
      headers: {
        'user-agent': 'fastify-otp-login',
        ...headers,
        'content-type': 'application/json',
        [timestampHeader]: timestamp,
        [signatureHeader]: sign(secret, timestamp, body)
      },
      body
    }, { timeout, secrets: [args.code] })
  }
}

function checkKnown (channel: Channel): 'sms' {
  if (channel !== 'sms') throw new Error(`fastify-otp-login: webhookSender does not know the channel "${String(channel)}"`)
  return channel
}

function checkHeaders (options: SenderOptions, headers: unknown): Record<string, string> {
  if (headers === undefined) return {}
  if (headers === null || typeof headers !== 'object') options.fail('headers', 'must be an object of header names and string values')
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') options.fail(`headers.${name}`, 'must be a string')
    if (reservedHeaders.has(name.toLowerCase())) options.fail(`headers.${name}`, 'is set by the sender itself')
  }
  return { ...headers as Record<string, string> }
}

export interface WebhookSignatureInput {
  secret: string
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string | Buffer
  /** The `x-otp-timestamp` header. */
  timestamp: string | string[] | undefined
  /** The `x-otp-signature` header. */
  signature: string | string[] | undefined
  /** Seconds a request stays acceptable, either way from now; default 300. */
  tolerance?: number
  /** For tests: the current time in milliseconds. */
  now?: number
}

/**
 * For the receiving side of `webhookSender`: true when the signature matches the body and timestamp and the
 * timestamp is within `tolerance` seconds of now. Compares in constant time.
 */
export function verifyWebhookSignature ({ secret, body, timestamp, signature, tolerance = 300, now = Date.now() }: WebhookSignatureInput): boolean {
  // Misconfiguration must not open the door: an empty or short secret, or a NaN tolerance (from an unset
  // environment variable), would accept forgeries or replays forever.
  if (typeof secret !== 'string' || secret.length < 32) throw new Error('fastify-otp-login: verifyWebhookSignature needs a secret of at least 32 characters')
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error('fastify-otp-login: verifyWebhookSignature needs a finite, non-negative tolerance in seconds')
  }
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false
  if (Math.abs(now / 1000 - Number(timestamp)) > tolerance) return false
  const expected = Buffer.from(sign(secret, timestamp, body))
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
