import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { Channel } from '../identity.js'
import { schemaChecker } from '../schema-check.js'

/** What `send` is given for one code. */
export interface SendArgs {
  channel: Channel
  /** The E.164 phone number (channel 'sms') or the lower-cased e-mail address (channel 'email'). */
  to: string
  code: string
  /** Seconds the code stays valid. */
  expiresIn: number
  request: FastifyRequest
}

export type SendFn = (args: SendArgs) => Promise<void> | void

/** How long a sender waits for its provider by default, in milliseconds. */
export const DEFAULT_TIMEOUT = 5000

/**
 * A provider refused, failed or did not answer in time. The plugin logs `name: message` (with the code
 * masked) and answers `502 OTP_DELIVERY_FAILED`; the message carries a short excerpt of the provider's answer
 * for the log, never for the client.
 */
export class SendError extends Error {
  override name = 'OtpSendError'
  /** Which provider: 'Twilio', '2Factor', 'SMTP' or 'webhook'. */
  readonly provider: string
  /** The provider's HTTP status, or the SMTP server's reply code, when it answered. */
  readonly status: number | undefined
  /**
   * `refused`: the provider said no, or was never reached: nothing went out. `unknown`: it may have been
   * delivered (a timeout, a connection lost mid-request), so the plugin counts it as a send.
   */
  readonly outcome: 'refused' | 'unknown'

  constructor (provider: string, message: string, { status, cause, outcome = 'refused' }: {
    status?: number, cause?: unknown, outcome?: 'refused' | 'unknown'
  } = {}) {
    super(`${provider} ${message}`, cause === undefined ? undefined : { cause })
    this.provider = provider
    this.status = status
    this.outcome = outcome
  }
}

/** The start of a provider's answer, on one line, with every secret (the code, an API key) masked. */
export function excerpt (text: string, secrets: readonly string[], max = 300): string {
  let line = text.replace(/\s+/g, ' ').trim()
  for (const secret of secrets) {
    if (secret !== '') line = line.replaceAll(secret, '[redacted]')
  }
  return line.length > max ? line.slice(0, max) + '…' : line
}

/**
 * Runs `work` and fails with a SendError after `timeout` ms. The signal is aborted then, so fetch gives up
 * its connection; work that cannot be aborted (SMTP) is left to its own socket timeouts.
 */
export async function withTimeout<T> (provider: string, timeout: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  return await withDeadline(provider, timeout, work(controller.signal), () => { controller.abort() })
}

/**
 * Settles as `pending` does, or fails with a SendError (outcome unknown) after `timeout` ms, calling
 * `onExpired`. A value that is not a promise (a `send` that finished synchronously) is returned at once.
 */
export async function withDeadline<T> (provider: string, timeout: number, pending: T | PromiseLike<T>, onExpired?: () => void): Promise<T> {
  if (!isThenable(pending)) return pending
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((resolve, reject) => {
    timer = setTimeout(() => {
      reject(new SendError(provider, `did not answer within ${timeout} ms`, { outcome: 'unknown' }))
      onExpired?.()
    }, timeout)
  })
  try {
    return await Promise.race([pending, expired])
  } finally {
    clearTimeout(timer)
  }
}

const isThenable = <T>(value: T | PromiseLike<T>): value is PromiseLike<T> =>
  typeof (value as { then?: unknown } | null)?.then === 'function'

export interface ProviderAnswer {
  status: number
  body: string
}

/**
 * One HTTP request to a provider, once: no retry, redirects refused (they would carry the code elsewhere).
 * Resolves with a 2xx answer; rejects with a SendError on any other answer (quoting it, `secrets` masked),
 * a timeout or a network failure.
 */
export async function callProvider (provider: string, url: string, init: RequestInit, { timeout, secrets }: { timeout: number, secrets: readonly string[] }): Promise<ProviderAnswer> {
  let answer: ProviderAnswer
  try {
    answer = await withTimeout(provider, timeout, async (signal) => {
      const response = await fetch(url, { ...init, signal, redirect: 'manual' })
      return { status: response.status, body: await response.text() }
    })
  } catch (err) {
    if (err instanceof SendError) throw err
    const reason = networkReason(err)
    throw new SendError(provider, `could not be reached (${reason})`, { cause: err, outcome: neverConnected.has(reason) ? 'refused' : 'unknown' })
  }
  if (answer.status < 200 || answer.status > 299) {
    // A 4xx is the provider refusing the request; after a 5xx (or a proxy's 502/504) it may have sent anyway.
    throw new SendError(provider, `answered HTTP ${answer.status}: ${excerpt(answer.body, secrets)}`, {
      status: answer.status,
      outcome: answer.status >= 500 ? 'unknown' : 'refused'
    })
  }
  return answer
}

// Failures before a connection existed: the request cannot have reached the provider.
const neverConnected = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

// undici's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND, …) in its cause; never the URL, which
// may hold an API key or the code.
function networkReason (err: unknown): string {
  const cause = (err as { cause?: { code?: unknown, message?: unknown } } | null)?.cause
  if (typeof cause?.code === 'string') return cause.code
  if (typeof cause?.message === 'string') return cause.message
  return err instanceof Error ? err.message : String(err)
}

/** Refuses a code for a channel the sender cannot deliver (a configuration mistake, so it fails loudly). */
export function checkChannel (sender: string, channel: Channel, supported: Channel): void {
  if (channel !== supported) {
    throw new Error(`fastify-otp-login: ${sender} delivers ${supported === 'sms' ? 'SMS' : 'e-mail'} only; it was given a code for channel "${channel}"`)
  }
}

/** How a sender says that one of its options is wrong. */
export type Fail = (name: string, rule: string) => never

export const senderFail = (sender: string): Fail => (name, rule) => {
  throw new Error(`fastify-otp-login: ${sender} option "${name}" ${rule}`)
}

const isHttpUrl = (value: unknown): boolean => {
  try {
    const { protocol } = new URL(String(value))
    return typeof value === 'string' && (protocol === 'https:' || protocol === 'http:')
  } catch {
    return false
  }
}

/**
 * Checks a sender's options when the factory is called, so a mistake fails at startup, not at the first login;
 * unknown option names are refused, so a typo cannot silently drop a setting.
 */
export function senderOptions<T extends TSchema> (sender: string, schema: T): (opts: unknown) => Static<T> {
  return schemaChecker(schema, {
    invalid: (name, rule) => `fastify-otp-login: ${sender} option "${name}" ${rule}`,
    unknown: (name, key) => `fastify-otp-login: ${sender} has no option "${key}"`,
    notObject: `fastify-otp-login: ${sender} needs an options object`
  }, { httpUrl: isHttpUrl, function: (value) => typeof value === 'function' })
}

/** The options most senders share. */
export const senderOption = {
  text: (rule = 'is required and must be a non-empty string') => Type.String({ minLength: 1, rule }),
  /** An http(s) URL; a trailing slash is dropped where it is read. */
  url: () => Type.String({ check: 'httpUrl', rule: 'must be an http or https URL' }),
  /** Milliseconds; default DEFAULT_TIMEOUT. */
  timeout: () => Type.Optional(Type.Integer({ minimum: 1, maximum: 120_000, rule: 'must be a whole number of milliseconds from 1 to 120000' })),
  /** Used by the default texts: "Your <appName> code is …". */
  appName: () => Type.Optional(Type.String({ minLength: 1, rule: 'is required and must be a non-empty string' })),
  flag: () => Type.Optional(Type.Boolean({ rule: 'must be true or false' }))
}

export const withoutSlash = (url: string): string => url.replace(/\/+$/, '')
