import { createHmac, randomFillSync } from 'node:crypto'
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type AuthenticatorTransportFuture, type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON, type RegistrationResponseJSON
} from '@simplewebauthn/server'
import { PasskeyExistsError, PasskeyLimitError, PasskeyNotFoundError, PasskeyRegistrationInvalidError } from '../errors.js'
import type { PasskeysOptions } from '../options-schema.js'
import type { CredentialStore, PasskeyIdentity, PasskeyRecord } from '../store/credentials/types.js'
import { reachStore } from '../store/reach.js'
import type { CodeStore } from '../store/codes/types.js'
import { sha256 } from '../tokens.js'

/** Seconds a ceremony's challenge stays valid. */
export const passkeyChallengeTtl = 300
/** Passkeys one user may have. */
export const maxPasskeys = 20

const transports: ReadonlySet<string> = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])
// ES256 (every platform authenticator) and RS256 (Windows Hello).
const algorithms = [-7, -257]

/** What a passkey service works with: the option, the stores (each call already under the store deadline), the HMAC key. */
export interface PasskeyParts {
  options: PasskeysOptions
  credentials: CredentialStore
  challenges: Pick<CodeStore, 'savePasskeyChallenge' | 'takePasskeyChallenge'>
  codeSecret: string
  now?: () => number
}

/** How a passkey sign-in went; each refusal is answered the same (401 OTP_PASSKEY_INVALID), the reason is for events. */
export type PasskeySignIn =
  | { status: 'ok', owner: string, passkey: PasskeyRecord, backedUp: boolean }
  | { status: 'cloned', owner: string, passkey: PasskeyRecord }
  | { status: 'refused', reason: 'challenge' | 'unknown' | 'verification' }

/** The challenge a client put in its clientDataJSON (base64url JSON), or undefined when there is none to read. */
export function challengeOf (clientDataJSON: string): string | undefined {
  try {
    const data: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString())
    const challenge = (data as { challenge?: unknown } | null)?.challenge
    return typeof challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(challenge) ? challenge : undefined
  } catch {
    return undefined
  }
}

/**
 * WebAuthn ceremonies through @simplewebauthn/server. Challenges are 32 random bytes, kept only as hashes for
 * `passkeyChallengeTtl` and spent before the response is verified, so each is checked at most once. A
 * registration challenge is bound to the owner who asked for it.
 */
export class PasskeyService {
  private readonly options: PasskeysOptions
  private readonly credentials: CredentialStore
  private readonly challenges: PasskeyParts['challenges']
  private readonly userKey: Buffer
  private readonly now: () => number

  constructor ({ options, credentials, challenges, codeSecret, now = Date.now }: PasskeyParts) {
    this.options = options
    this.credentials = credentials
    this.challenges = challenges
    this.userKey = createHmac('sha256', codeSecret).update('fastify-otp-login passkey user handle').digest()
    this.now = now
  }

  /** The WebAuthn user handle of an owner: stable and opaque (never a phone number or address), base64url. */
  userHandle (owner: string): string {
    return createHmac('sha256', this.userKey).update(owner).digest('base64url')
  }

  /** 32 random bytes (a string would be taken as UTF-8 by the library), saved as the hash of their base64url. */
  private async newChallenge (scope: string[]): Promise<Uint8Array<ArrayBuffer>> {
    const challenge = new Uint8Array(32)
    randomFillSync(challenge)
    await reachStore(() => this.challenges.savePasskeyChallenge(challengeHash(scope, Buffer.from(challenge).toString('base64url')), passkeyChallengeTtl * 1000))
    return challenge
  }

  /** Spends the challenge a response carries, if the server gave it out for `scope`: true once. */
  private async takeChallenge (scope: string[], clientDataJSON: string): Promise<string | undefined> {
    const challenge = challengeOf(clientDataJSON)
    if (challenge === undefined) return undefined
    return await reachStore(() => this.challenges.takePasskeyChallenge(challengeHash(scope, challenge))) ? challenge : undefined
  }

  async registrationOptions (owner: string, userName: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await reachStore(() => this.credentials.listPasskeys(owner))
    if (existing.length >= maxPasskeys) throw new PasskeyLimitError()
    const challenge = await this.newChallenge(['register', owner])
    return await generateRegistrationOptions({
      rpName: this.options.rpName,
      rpID: this.options.rpId,
      userID: Buffer.from(this.userHandle(owner), 'base64url'),
      userName,
      challenge,
      timeout: passkeyChallengeTtl * 1000,
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: knownTransports(passkey.transports) })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      supportedAlgorithmIDs: algorithms
    })
  }

  /** Verifies a registration for a challenge this owner was given and stores the passkey. */
  async register (owner: string, identity: PasskeyIdentity, response: RegistrationResponseJSON, name: string): Promise<PasskeyRecord> {
    const challenge = await this.takeChallenge(['register', owner], response.response.clientDataJSON)
    if (challenge === undefined) throw new PasskeyRegistrationInvalidError()
    let info
    try {
      const verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.options.origins],
        expectedRPID: this.options.rpId,
        requireUserVerification: true,
        supportedAlgorithmIDs: algorithms
      })
      info = verification.verified ? verification.registrationInfo : undefined
    } catch {
      info = undefined
    }
    // The id the browser names must be the credential the authenticator attested.
    if (info === undefined || info.credential.id !== response.id) throw new PasskeyRegistrationInvalidError()
    const existing = await reachStore(() => this.credentials.listPasskeys(owner))
    if (existing.length >= maxPasskeys) throw new PasskeyLimitError()
    const passkey: PasskeyRecord = {
      id: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: knownTransports(response.response.transports ?? []),
      name,
      createdAt: this.now(),
      lastUsedAt: null,
      backedUp: info.credentialBackedUp,
      identity: { kind: identity.kind, value: identity.value }
    }
    if (!await reachStore(() => this.credentials.addPasskey(owner, passkey))) throw new PasskeyExistsError()
    return passkey
  }

  async loginOptions (): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const challenge = await this.newChallenge(['login'])
    // No allowCredentials: a discoverable credential names its user (the user handle).
    return await generateAuthenticationOptions({
      rpID: this.options.rpId,
      challenge,
      timeout: passkeyChallengeTtl * 1000,
      userVerification: 'required'
    })
  }

  /**
   * A discoverable sign-in: the challenge is spent first, then the passkey found by its credential id, the
   * assertion verified (user verification required), and the counter recorded atomically.
   */
  async signIn (response: AuthenticationResponseJSON): Promise<PasskeySignIn> {
    const challenge = await this.takeChallenge(['login'], response.response.clientDataJSON)
    if (challenge === undefined) return { status: 'refused', reason: 'challenge' }
    const found = await reachStore(() => this.credentials.findPasskey(response.id))
    if (found === undefined) return { status: 'refused', reason: 'unknown' }
    // The owner is the credential's, never the user handle's: the authenticator does not sign the handle, and a
    // handle derived under an earlier codeSecret must not lock a user out of their passkey.
    const { owner, passkey } = found
    let info
    try {
      const verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.options.origins],
        expectedRPID: this.options.rpId,
        requireUserVerification: true,
        // Counter 0 here: the library then never judges the counter, the store does (usePasskey, atomically).
        credential: { id: passkey.id, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: 0, transports: knownTransports(passkey.transports) }
      })
      info = verification.verified ? verification.authenticationInfo : undefined
    } catch {
      info = undefined
    }
    if (info === undefined) return { status: 'refused', reason: 'verification' }
    const newCounter = info.newCounter
    const used = await reachStore(() => this.credentials.usePasskey(passkey.id, newCounter, this.now()))
    if (used === 'counter-went-back') return { status: 'cloned', owner, passkey }
    if (used === 'unknown') return { status: 'refused', reason: 'unknown' }
    return { status: 'ok', owner, passkey, backedUp: info.credentialBackedUp }
  }

  async list (owner: string): Promise<PasskeyRecord[]> {
    return await reachStore(() => this.credentials.listPasskeys(owner))
  }

  async rename (owner: string, id: string, name: string): Promise<void> {
    if (!await reachStore(() => this.credentials.renamePasskey(owner, id, name))) throw new PasskeyNotFoundError()
  }

  async remove (owner: string, id: string): Promise<PasskeyRecord> {
    const removed = await reachStore(() => this.credentials.removePasskey(owner, id))
    if (removed === undefined) throw new PasskeyNotFoundError()
    return removed
  }

  /** After a change of identifier: the owner's passkeys sign in as `identity` from now on. */
  async rebind (owner: string, identity: PasskeyIdentity): Promise<void> {
    await reachStore(() => this.credentials.rebindPasskeys(owner, identity))
  }
}

/** The hash a challenge is stored as: over its ceremony (and owner) too, so it serves that one only. */
const challengeHash = (scope: string[], challenge: string): string => sha256(JSON.stringify([...scope, challenge]))

function knownTransports (list: readonly string[]): AuthenticatorTransportFuture[] {
  return list.filter((transport): transport is AuthenticatorTransportFuture => transports.has(transport))
}
