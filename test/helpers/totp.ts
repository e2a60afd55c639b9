import type { LightMyRequestResponse } from 'fastify'
import { Secret, TOTP } from 'otpauth'
import type { OtpLoginOptions } from '../../lib/index.js'
import { buildApp, field, type StoreKind, type TestApp } from './app.js'

/** A fixed test key: 32 bytes as hex. */
export const TOTP_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'
export const STEP_MS = 30_000

export interface TotpTestApp extends TestApp {
  /** The plugin's TOTP clock, in milliseconds; tests move it instead of sleeping. */
  clock: { now: number }
  /** The time step the plugin's clock is in. */
  step: () => number
  setup: (access: string) => Promise<LightMyRequestResponse>
  confirm: (access: string, otp: string) => Promise<LightMyRequestResponse>
  disable: (access: string) => Promise<LightMyRequestResponse>
  verifyTotp: (identifier: string, otp: string) => Promise<LightMyRequestResponse>
  verifyRecovery: (identifier: string, code: string) => Promise<LightMyRequestResponse>
  /** Second-factor mode: the second step with the mfaToken of the first. */
  mfaTotp: (mfaToken: string, otp: string, extra?: Record<string, unknown>) => Promise<LightMyRequestResponse>
  mfaRecovery: (mfaToken: string, code: string, extra?: Record<string, unknown>) => Promise<LightMyRequestResponse>
  /** Second-factor mode: a right first factor for `identifier`; the answer of /verify-otp. */
  firstFactor: (identifier: string, extra?: Record<string, unknown>) => Promise<LightMyRequestResponse>
  /** Logs in, sets up and confirms an authenticator: its base32 secret and recovery codes. */
  enable: (identifier: string) => Promise<{ access: string, secret: string, recoveryCodes: string[] }>
}

/** The code an authenticator app shows for `secret` (base32) in time step `step`, computed by the library. */
export function codeAt (secret: string, step: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: step * STEP_MS })
}

/**
 * The test app with authenticators on, its clock in the middle of a time step. In alternative mode unless
 * `options.totpMode` says otherwise: most TOTP tests are about the codes, which both modes check alike.
 */
export async function buildTotpApp (
  t: Parameters<typeof buildApp>[0], kind: StoreKind, options: Partial<OtpLoginOptions> = {}, logs?: string[]
): Promise<TotpTestApp> {
  const clock = { now: 1_900_000_000_000 + STEP_MS / 2 }
  const built = await buildApp(t, kind, { totpEncryptionKey: TOTP_KEY, totpClock: () => clock.now, totpMode: 'alternative', resendInterval: 0, maxSends: 100, ...options }, logs)
  const { app, codeFor, accessFor } = built
  const bearer = (access: string) => ({ authorization: `Bearer ${access}` })
  const step = (): number => Math.floor(clock.now / STEP_MS)

  const setup = async (access: string) => await app.inject({ method: 'POST', url: '/totp/setup', headers: bearer(access) })
  const confirm = async (access: string, otp: string) =>
    await app.inject({ method: 'POST', url: '/totp/confirm', headers: bearer(access), payload: { otp } })
  const disable = async (access: string) => await app.inject({ method: 'DELETE', url: '/totp', headers: bearer(access) })
  const verifyTotp = async (identifier: string, otp: string) =>
    await app.inject({ method: 'POST', url: '/verify-totp', payload: { ...field(identifier), otp } })
  const verifyRecovery = async (identifier: string, code: string) =>
    await app.inject({ method: 'POST', url: '/verify-recovery', payload: { ...field(identifier), code } })

  const mfaTotp = async (mfaToken: string, otp: string, extra: Record<string, unknown> = {}) =>
    await app.inject({ method: 'POST', url: '/verify-totp', payload: { mfaToken, otp, ...extra } })
  const mfaRecovery = async (mfaToken: string, code: string, extra: Record<string, unknown> = {}) =>
    await app.inject({ method: 'POST', url: '/verify-recovery', payload: { mfaToken, code, ...extra } })
  const firstFactor = async (identifier: string, extra: Record<string, unknown> = {}) => {
    await app.inject({ method: 'POST', url: '/login', payload: { ...field(identifier), ...extra } })
    return await app.inject({ method: 'POST', url: '/verify-otp', payload: { ...field(identifier), otp: codeFor(identifier), ...extra } })
  }

  const enable = async (identifier: string) => {
    const access = await accessFor(identifier)
    const secret: string = (await setup(access)).json().secret
    const confirmed = await confirm(access, codeAt(secret, step()))
    if (confirmed.statusCode !== 200) throw new Error(`could not confirm: ${confirmed.body}`)
    // The confirming code's step is used up: later logins happen in later steps.
    clock.now += STEP_MS
    return { access, secret, recoveryCodes: confirmed.json().recoveryCodes }
  }

  return { ...built, clock, step, setup, confirm, disable, verifyTotp, verifyRecovery, mfaTotp, mfaRecovery, firstFactor, enable }
}
