// What the routes plugin (index.ts) hands each route group; the route files import this, never index.ts.
import type { FastifyInstance } from 'fastify'
import type { DeviceTokens } from '../devices.js'
import type { Emit } from '../events.js'
import type { ResolvedOptions, RouteRateLimit } from '../options.js'
import type { OtpStore } from '../store/types.js'
import type { TokenIssuer } from '../tokens.js'
import type { TotpService } from '../totp/service.js'
import type { VerifyAccessToken } from '../verify-token.js'
import type { CookieJar } from './cookies.js'

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
}

/** What every route group is given: its encapsulated instance and the plugin's parts. */
export interface RouteContext extends RoutesOptions {
  fastify: FastifyInstance
  /** Cookie mode's refresh and device cookies; absent without the `cookie` option. */
  cookies: CookieJar | undefined
}

export const routeLimit = (limit: false | RouteRateLimit): { rateLimit?: RouteRateLimit } => limit ? { rateLimit: limit } : {}
