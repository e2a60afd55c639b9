// A software authenticator for API-level passkey tests: ES256 keys from node:crypto, an attestation object of
// format 'none' in a tiny CBOR encoder, and assertions signed as a platform authenticator signs them. Every
// field a test may want wrong (origin, rpId, flags, counter, challenge, user handle) can be overridden.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

type Cbor = number | string | Buffer | CborMap | { [key: string]: Cbor }
interface CborMap extends Map<Cbor, Cbor> {}

function head (major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length])
  if (length < 256) return Buffer.from([(major << 5) | 24, length])
  if (length < 65536) return Buffer.from([(major << 5) | 25, length >> 8, length & 255])
  const b = Buffer.alloc(5)
  b[0] = (major << 5) | 26
  b.writeUInt32BE(length, 1)
  return b
}

/** CBOR (RFC 8949) of unsigned and negative integers, byte and text strings, and maps: all COSE and attestation need. */
export function cbor (value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === 'string') {
    const text = Buffer.from(value)
    return Buffer.concat([head(3, text.length), text])
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value])
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value)
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])])
}

const sha256 = (data: Buffer | string): Buffer => createHash('sha256').update(data).digest()
const b64 = (data: Buffer): string => data.toString('base64url')

export const flags = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const

export interface Ceremony {
  origin?: string
  rpId?: string
  /** User verification (the PIN or biometric); default true. */
  uv?: boolean
  /** Overrides the challenge the options carried. */
  challenge?: string
}

interface Credential {
  id: Buffer
  privateKey: KeyObject
  publicKey: KeyObject
  userHandle: string
  counter: number
}

export interface AuthenticatorOptions {
  origin: string
  rpId: string
  /** A synced passkey (backup eligible and backed up): BE|BS set. */
  backedUp?: boolean
  /** Counter step per signature; 0 for an authenticator without a counter (as synced passkeys are). */
  counterStep?: number
}

export class SoftAuthenticator {
  readonly credentials: Credential[] = []
  constructor (private readonly options: AuthenticatorOptions) {}

  private authData (rpId: string, uv: boolean, counter: number, attested?: Buffer): Buffer {
    let flagByte = flags.UP | (uv ? flags.UV : 0) | (this.options.backedUp === true ? flags.BE | flags.BS : 0)
    if (attested !== undefined) flagByte |= flags.AT
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    return Buffer.concat([sha256(rpId), Buffer.from([flagByte]), count, attested ?? Buffer.alloc(0)])
  }

  private clientData (type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
  }

  /**
   * `navigator.credentials.create()` for these creation options: a new credential (or `credential` attested
   * again), as @simplewebauthn/browser returns it.
   */
  create (creation: { challenge: string, user: { id: string } }, ceremony: Ceremony & { credential?: Credential } = {}) {
    const { privateKey, publicKey } = ceremony.credential ?? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = publicKey.export({ format: 'jwk' })
    const cose = cbor(new Map<Cbor, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x ?? '', 'base64url')], [-3, Buffer.from(jwk.y ?? '', 'base64url')]]))
    const id = ceremony.credential?.id ?? randomBytes(16)
    const length = Buffer.alloc(2)
    length.writeUInt16BE(id.length)
    const attested = Buffer.concat([Buffer.alloc(16), length, id, cose])
    const authData = this.authData(ceremony.rpId ?? this.options.rpId, ceremony.uv ?? true, 0, attested)
    const credential = { id, privateKey, publicKey, userHandle: creation.user.id, counter: 0 }
    if (ceremony.credential === undefined) this.credentials.push(credential)
    const clientDataJSON = this.clientData('webauthn.create', ceremony.challenge ?? creation.challenge, ceremony.origin ?? this.options.origin)
    return {
      id: b64(id),
      rawId: b64(id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: { credProps: { rk: true } },
      response: {
        clientDataJSON: b64(clientDataJSON),
        attestationObject: b64(cbor({ fmt: 'none', attStmt: {}, authData })),
        transports: ['internal', 'hybrid']
      }
    }
  }

  /**
   * `navigator.credentials.get()` for these request options with a credential of this authenticator (the last
   * one by default): an assertion, its counter one step on unless `counter` says otherwise.
   */
  get (request: { challenge: string }, ceremony: Ceremony & { credential?: Credential, counter?: number, userHandle?: string } = {}) {
    const credential = ceremony.credential ?? this.credentials.at(-1)
    if (credential === undefined) throw new Error('no credential: create one first')
    const counter = ceremony.counter ?? credential.counter + (this.options.counterStep ?? 1)
    credential.counter = counter
    const authData = this.authData(ceremony.rpId ?? this.options.rpId, ceremony.uv ?? true, counter)
    const clientDataJSON = this.clientData('webauthn.get', ceremony.challenge ?? request.challenge, ceremony.origin ?? this.options.origin)
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey)
    return {
      id: b64(credential.id),
      rawId: b64(credential.id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64(clientDataJSON),
        authenticatorData: b64(authData),
        signature: b64(signature),
        userHandle: ceremony.userHandle ?? credential.userHandle
      }
    }
  }
}
