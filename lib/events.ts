import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { deprecations } from './deprecations.js'
import type { Channel } from './identity.js'

/** Something that happened in the login flow; for audit logs and metrics. Never carries a code or a token. */
export interface OtpEvent {
  type:
  | 'code-requested' // a valid identifier asked for a code
  | 'code-sent' // `send` delivered it
  | 'code-refused' // not issued: `reason` is 'max-sends', 'max-sends-per-identifier', 'locked', 'resend-too-soon' or 'send-budget'
  | 'delivery-failed' // `send` threw
  | 'verify-failed' // `reason`: 'invalid', 'attempts-exceeded', 'locked' or 'guess-pending' (refused unchecked)
  | 'locked-out' // the wrong guess that reached maxFailures: `reason` 'max-failures'; once per lockout
  | 'verified' // a right code: tokens issued
  | 'refreshed'
  | 'refresh-failed' // `reason`: 'reused' (the family was revoked) or 'invalid'
  | 'logged-out'
  | 'totp-enabled' // an authenticator app was confirmed (recovery codes issued)
  | 'totp-disabled' // an authenticator app was turned off
  | 'mfa-required' // a right first factor for a user with an authenticator: a second-factor token was issued
  | 'session-created' // a sign-in started a session (`sessionId`)
  | 'session-ended' // `reason`: 'logout', 'reuse' (a spent refresh token came back), 'revoked' or 'limit' (maxSessions)
  /** The identifier, masked: `+91******3210`, `a**@example.com`. */
  identifier?: string
  channel?: Channel
  /** How a verify proved the identity: a sent code, an authenticator app's code or a recovery code. */
  factor?: 'otp' | 'totp' | 'recovery'
  /** @deprecated Renamed `factor`; goes in 0.3. Reading it emits the warning FOTPDEP002 once. */
  readonly method?: 'otp' | 'totp' | 'recovery'
  /** The session a `session-created` or `session-ended` event is about. */
  sessionId?: string
  /** The token's `sub`, where one is known. */
  userId?: string
  reason?: string
  ip: string
  requestId: string
}

export type OtpEventHandler = (event: OtpEvent, request: FastifyRequest) => void | Promise<void>

/**
 * Masks an identifier for logs and events: a phone number keeps its first three and last four characters, an
 * e-mail address the first character of its local part and its domain.
 */
export function maskIdentifier (identifier: string): string {
  const at = identifier.lastIndexOf('@')
  if (at > 0) return `${identifier[0] ?? ''}${'*'.repeat(Math.max(2, at - 1))}${identifier.slice(at)}`
  if (identifier.length <= 7) return '*'.repeat(identifier.length)
  return identifier.slice(0, 3) + '*'.repeat(identifier.length - 7) + identifier.slice(-4)
}

export type Emit = (request: FastifyRequest, event: Omit<OtpEvent, 'ip' | 'requestId' | 'identifier' | 'method'> & { identifier?: string }) => void

/** An emitter that masks the identifier and never lets a failing handler break a login. */
export function eventEmitter (handler: OtpEventHandler | undefined, log: FastifyBaseLogger): Emit {
  if (handler === undefined) return () => {}
  return (request, { identifier, ...rest }) => {
    const event: OtpEvent = {
      ...rest,
      ...(identifier === undefined ? {} : { identifier: maskIdentifier(identifier) }),
      ip: request.ip,
      requestId: String(request.id)
    }
    if (event.factor !== undefined) withDeprecatedMethod(event, event.factor)
    try {
      const done = handler(event, request)
      if (done && typeof done.catch === 'function') done.catch((err: unknown) => { logFailure(log, err) })
    } catch (err) {
      logFailure(log, err)
    }
  }
}

// The old name of `factor`, readable for one more release; not enumerable, so logs and copies show `factor` only.
function withDeprecatedMethod (event: OtpEvent, factor: NonNullable<OtpEvent['factor']>): void {
  Object.defineProperty(event, 'method', {
    enumerable: false,
    get () {
      deprecations.eventMethod()
      return factor
    }
  })
}

function logFailure (log: FastifyBaseLogger, err: unknown): void {
  log.error({ err }, 'fastify-otp-login: the onEvent handler failed')
}
