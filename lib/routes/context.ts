// What the routes plugin (index.ts) is given, and the few values it hands each route group; the route files
// import this, never index.ts.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault
} from 'fastify'
import type { DeviceTokens } from '../devices.js'
import type { PasskeyIdentity } from '../store/credentials/types.js'
import type { Emit } from '../events.js'
import type { Identity } from '../identity.js'
import type { ResolvedOptions, RouteRateLimit } from '../options.js'
import type { OtpStore } from '../store/types.js'
import type { PasskeyService } from '../passkeys/service.js'
import type { TokenIssuer } from '../tokens.js'
import type { TotpService } from '../totp/service.js'
import type { VerifyAccessToken } from '../verify-token.js'
import type { CookieJar } from './cookies.js'
import type { IdentityReader, SignIn } from './sign-in.js'

/** The routes plugin's options: the plugin's settings and parts. */
export interface RoutesOptions {
  settings: ResolvedOptions
  store: OtpStore
  tokens: TokenIssuer
  emit: Emit
  /** Authenticator apps; absent without `totpEncryptionKey`. */
  totp: TotpService | undefined
  /** Trusted devices; absent when `trustedDevices` is false. */
  devices: DeviceTokens | undefined
  /** The access-token check of `app.authenticate` (signature, algorithm, claims), without the session lookup. */
  verifyToken: VerifyAccessToken
  /** Passkeys; absent without the `passkeys` option. */
  passkeys?: PasskeyService | undefined
}

/** The routes' encapsulated instance, whose handlers are typed from their TypeBox schemas. */
export type RoutesInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

/** A route's `config`: its per-IP limit, if any. */
export interface RouteLimit { rateLimit?: RouteRateLimit }
export const routeLimit = (limit: false | RouteRateLimit): RouteLimit => limit ? { rateLimit: limit } : {}

/** What every route group is given. */
interface RouteGroup {
  fastify: RoutesInstance
  emit: Emit
  /** Cookie mode's refresh and device cookies; absent without the `cookie` option. */
  cookies: CookieJar | undefined
}

/** The limits every guess at a code counts under (one-time codes, authenticator and recovery codes). */
export type GuessLimits = Pick<ResolvedOptions, 'maxAttempts' | 'maxFailures' | 'lockout'>

/** A group whose routes sign a user in. */
interface SignInGroup extends RouteGroup {
  store: OtpStore
  devices: DeviceTokens | undefined
  identities: IdentityReader
  signIn: SignIn
  identifierKinds: ResolvedOptions['identifierKinds']
  limits: GuessLimits
}

/** What sending and checking a one-time code takes (lib/routes/otp.ts `codeSteps`): for /login and /identifiers. */
export interface CodeStepsInput extends Pick<ResolvedOptions,
  'codeLength' | 'codeTtl' | 'maxSends' | 'maxSendsPerIdentifier' | 'resendInterval' | 'testIdentities' | 'send' | 'sendTimeout' | 'smsBudget' | 'captcha'> {
  store: OtpStore
  emit: Emit
  limits: GuessLimits
}

/** What /login answers: a code was sent (or, for a test identity, stands ready). */
export interface SentBody { message: string, expiresIn: number, resendIn: number }

/**
 * The two steps of a one-time code that /login and /verify-otp take, shared with /identifiers and
 * /identifiers/verify so that a code for any purpose is sent and guessed under the same limits. A purpose is
 * told apart only by how the code is hashed (`hashFor`, `codeHash`): the store's counters are the identifier's.
 */
export interface CodeSteps {
  /**
   * Sends a new code to `identity`, stored as `hashFor(code)`: captcha, send limits, smsBudget and delivery as
   * /login; throws its errors. `device`: a trusted device of this identifier, if any.
   */
  send: (request: FastifyRequest, identity: Identity, hashFor: (code: string) => string, captchaToken: string | undefined, device: string | undefined) => Promise<SentBody>
  /**
   * Checks and consumes the code stored as `codeHash` under the guess limits of /verify-otp; throws its errors.
   * `confirm`: a deferred identifier check, run before any refusal. `deferReset`: see VerifyPolicy.
   */
  check: (request: FastifyRequest, identity: Identity, codeHash: string, how: { device?: string | undefined, confirm?: (() => void) | undefined, deferReset: boolean }) => Promise<void>
}

/** `POST /login` and `POST /verify-otp`. */
export interface OtpRoutesInput extends SignInGroup, CodeStepsInput, Pick<ResolvedOptions, 'codeSecret'> {
  config: { login: RouteLimit, verify: RouteLimit }
}

/** `POST /refresh`, `POST /logout`, `GET /sessions` and `DELETE /sessions/:id`. */
export interface SessionRoutesInput extends RouteGroup {
  tokens: TokenIssuer
  verifyToken: VerifyAccessToken
  config: { refresh: RouteLimit, account: RouteLimit }
}

/** The authenticator routes. */
export interface TotpRoutesInput extends SignInGroup {
  totp: TotpService
  config: { verify: RouteLimit, account: RouteLimit }
}

/** `POST /identifiers` and `POST /identifiers/verify`: a signed-in user adds a phone number or e-mail address. */
export interface IdentifierRoutesInput extends RouteGroup, Pick<ResolvedOptions, 'codeLength' | 'codeSecret' | 'identifierKinds' | 'endSessionsOnIdentifierChange'> {
  /** /login's steps: a code for a new identifier is sent and guessed under the same limits. */
  steps: CodeSteps
  identities: IdentityReader
  tokens: TokenIssuer
  /** Whether /login asks for a captcha: /identifiers then does too. */
  captcha: boolean
  linkIdentifier: NonNullable<ResolvedOptions['linkIdentifier']>
  /** With passkeys on: makes the user's passkeys sign in as a newly linked identifier. */
  rebindPasskeys?: (userId: string, identity: PasskeyIdentity) => Promise<void>
  config: { login: RouteLimit, verify: RouteLimit }
}

/** The passkey routes. */
export interface PasskeyRoutesInput extends RouteGroup {
  passkeys: PasskeyService
  devices: DeviceTokens | undefined
  signIn: SignIn
  config: { verify: RouteLimit, account: RouteLimit }
}
