// What the routes plugin (index.ts) is given, and the few values it hands each route group; the route files
// import this, never index.ts.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault
} from 'fastify'
import type { DeviceTokens } from '../devices.js'
import type { Emit } from '../events.js'
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

/** `POST /login` and `POST /verify-otp`. */
export interface OtpRoutesInput extends SignInGroup, Pick<ResolvedOptions,
  'codeLength' | 'codeTtl' | 'codeSecret' | 'maxSends' | 'maxSendsPerIdentifier' | 'resendInterval' | 'testIdentities' | 'send' | 'sendTimeout' | 'smsBudget' | 'captcha'> {
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

/** The passkey routes. */
export interface PasskeyRoutesInput extends RouteGroup {
  passkeys: PasskeyService
  devices: DeviceTokens | undefined
  signIn: SignIn
  config: { verify: RouteLimit, account: RouteLimit }
}
