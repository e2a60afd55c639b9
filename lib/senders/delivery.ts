import type { Channel } from '../identity.js'

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

/** Checks a sender's options when the factory is called, so a mistake fails at startup, not at the first login. */
export class SenderOptions {
  private readonly opts: Record<string, unknown>

  /** Refuses unknown option names, so a typo cannot silently drop a setting. */
  constructor (private readonly sender: string, opts: unknown, known: readonly string[]) {
    if (opts === null || typeof opts !== 'object') throw new Error(`fastify-otp-login: ${sender} needs an options object`)
    this.opts = opts as Record<string, unknown>
    for (const key of Object.keys(opts)) {
      if (!known.includes(key)) throw new Error(`fastify-otp-login: ${sender} has no option "${key}"`)
    }
  }

  fail (name: string, rule: string): never {
    throw new Error(`fastify-otp-login: ${this.sender} option "${name}" ${rule}`)
  }

  value (name: string): unknown {
    return this.opts[name]
  }

  string (name: string): string {
    const value = this.opts[name]
    if (typeof value !== 'string' || value === '') this.fail(name, 'is required and must be a non-empty string')
    return value
  }

  optionalString (name: string): string | undefined {
    return this.opts[name] === undefined ? undefined : this.string(name)
  }

  boolean (name: string, fallback: boolean): boolean {
    const value = this.opts[name] ?? fallback
    if (typeof value !== 'boolean') this.fail(name, 'must be true or false')
    return value
  }

  /** An http(s) URL without a trailing slash. */
  url (name: string, fallback?: string): string {
    const value = this.opts[name] ?? fallback
    let url: URL | undefined
    try {
      url = new URL(String(value))
    } catch {}
    if (typeof value !== 'string' || (url?.protocol !== 'https:' && url?.protocol !== 'http:')) {
      this.fail(name, 'must be an http or https URL')
    }
    return value.replace(/\/+$/, '')
  }

  timeout (): number {
    const value = this.opts.timeout ?? DEFAULT_TIMEOUT
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 120_000) {
      this.fail('timeout', 'must be a whole number of milliseconds from 1 to 120000')
    }
    return value
  }
}
