import type { FastifyRequest } from 'fastify'
import { CaptchaInvalidError, CaptchaUnavailableError } from './errors.js'
import type { CaptchaCheck, CaptchaOptions } from './options.js'
import { DEFAULT_TIMEOUT, callProvider } from './senders/delivery.js'

export type { CaptchaCheck, CaptchaOptions }

export const siteverifyUrls = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify'
} as const

/**
 * The check `/login` runs before anything else moves: a missing or refused token is `400 OTP_CAPTCHA_INVALID`;
 * a provider that cannot be reached, answers an error or something that is not its JSON is
 * `503 OTP_CAPTCHA_UNAVAILABLE` (fail closed). The token is never logged.
 */
export function captchaCheck (options: CaptchaOptions): CaptchaCheck {
  const verify = 'verify' in options ? options.verify : siteverify(options)
  return async (token, request) => {
    if (token === undefined || token === '') throw new CaptchaInvalidError()
    let human: boolean
    try {
      human = await verify(token, request)
    } catch (err) {
      throw new CaptchaUnavailableError({ cause: err instanceof Error ? new Error(`${err.name}: ${err.message.replaceAll(token, '[token]')}`) : undefined })
    }
    if (human !== true) throw new CaptchaInvalidError()
  }
}

/** Cloudflare Turnstile's and hCaptcha's siteverify: a form POST of secret, response and remoteip; JSON back. */
function siteverify ({ provider, secret, siteverifyUrl, timeout = DEFAULT_TIMEOUT }: Extract<CaptchaOptions, { provider: string }>) {
  const url = siteverifyUrl ?? siteverifyUrls[provider]
  const name = provider === 'turnstile' ? 'Turnstile' : 'hCaptcha'
  return async (token: string, request: FastifyRequest): Promise<boolean> => {
    const form = new URLSearchParams({ secret, response: token, remoteip: request.ip })
    const answer = await callProvider(name, url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString()
    }, { timeout, secrets: [secret, token] })
    let result: unknown
    try {
      result = JSON.parse(answer.body)
    } catch {
      throw new Error(`${name} answered something that is not JSON`)
    }
    const success = (result as { success?: unknown } | null)?.success
    if (typeof success !== 'boolean') throw new Error(`${name} answered JSON without a boolean "success"`)
    return success
  }
}
