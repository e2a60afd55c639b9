import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { deprecations } from './deprecations.js'
import type { Channel } from './identity.js'

/** What every event says: something that happened in the login flow, for audit logs and metrics. Never a code or a token. */
export interface OtpEventFields {
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
  | 'recovery-codes-regenerated' // new recovery codes replaced the old ones (POST /totp/recovery-codes)
  | 'passkey-removed' // a passkey was removed (`passkeyId`)
  | 'mfa-required' // a right first factor for a user with an authenticator: a second-factor token was issued
  | 'session-created' // a sign-in started a session (`sessionId`)
  | 'session-ended' // `reason`: 'logout', 'reuse' (a spent refresh token came back), 'revoked', 'limit' (maxSessions) or 'identifier-changed'
  | 'identifier-added' // a signed-in user proved a new identifier's code and the host's linkIdentifier took it
  | 'passkey-added' // a passkey was registered (`passkeyId`)
  | 'passkey-removed' // a passkey was deleted (`passkeyId`)
  | 'passkey-cloned' // a sign-in whose signature counter went backwards (a cloned authenticator?): refused
  /** The identifier, masked: `+91******3210`, `a**@example.com`. */
  identifier?: string
  channel?: Channel
  /** How a verify proved the identity: a sent code, an authenticator app's code or a recovery code. */
  factor?: 'otp' | 'totp' | 'recovery' | 'passkey'
  /** @deprecated Renamed `factor`; goes in 0.3. Reading it emits the warning FOTPDEP002 once. */
  readonly method?: 'otp' | 'totp' | 'recovery'
  /** The session a `session-created` or `session-ended` event is about. */
  sessionId?: string
  /** The passkey (its credential id) a `passkey-…` event is about. */
  passkeyId?: string
  /** The token's `sub`, where one is known. */
  userId?: string
  reason?: string
}

/** An event of a request to one of the plugin's routes: no `by`, and the client's IP and the request's id. */
export interface OtpRequestEvent extends OtpEventFields {
  by?: undefined
  ip: string
  requestId: string
}

/**
 * An event of a call by the host's own code (`app.otpSessions`, `app.otpCredentials`): `by: 'host'`, and no IP or
 * request id, since no request made it. The handler gets no request either.
 */
export interface OtpHostEvent extends OtpEventFields {
  by: 'host'
  ip?: undefined
  requestId?: undefined
}

/** Something that happened in the login flow; `by` tells a host call's event from a request's. */
export type OtpEvent = OtpRequestEvent | OtpHostEvent

/**
 * Called with each event and the request it is about. An event of a host call (`by: 'host'`) has no request:
 * `request` is then undefined. Written as a method's type, whose parameters TypeScript compares both ways, so a
 * handler declared before host events existed, with `request: FastifyRequest`, still compiles; it must not use
 * `request` for a host event (a throw is logged, as any handler's).
 */
export type OtpEventHandler = { handle (event: OtpEvent, request: FastifyRequest | undefined): void | Promise<void> }['handle']

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

/** What a part of the plugin tells about an event: the emitter adds the rest and masks the identifier. */
export type EventInput = Omit<OtpEventFields, 'identifier' | 'method'> & { identifier?: string }
export type Emit = (request: FastifyRequest, event: EventInput) => void
/** Emits the event of a call by the host's own code, which has no request. */
export type EmitHost = (event: EventInput) => void

/** An emitter that masks the identifier and never lets a failing handler break a login. */
export function eventEmitter (handler: OtpEventHandler | undefined, log: FastifyBaseLogger): Emit {
  if (handler === undefined) return () => {}
  return (request, input) => {
    deliver(handler, log, { ...fields(input), ip: request.ip, requestId: String(request.id) }, request)
  }
}

/** The same for the host's calls: `by: 'host'`, no IP, request id or request. */
export function hostEventEmitter (handler: OtpEventHandler | undefined, log: FastifyBaseLogger): EmitHost {
  if (handler === undefined) return () => {}
  return (input) => { deliver(handler, log, { ...fields(input), by: 'host' }, undefined) }
}

function fields ({ identifier, ...rest }: EventInput): OtpEventFields {
  return { ...rest, ...(identifier === undefined ? {} : { identifier: maskIdentifier(identifier) }) }
}

function deliver (handler: OtpEventHandler, log: FastifyBaseLogger, event: OtpEvent, request: FastifyRequest | undefined): void {
  if (event.factor !== undefined) withDeprecatedMethod(event, event.factor)
  try {
    const done = handler(event, request)
    if (done && typeof done.catch === 'function') done.catch((err: unknown) => { logFailure(log, err) })
  } catch (err) {
    logFailure(log, err)
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
