// A software passkey authenticator for the bench: ES256 keys, `none` attestation, user verification always
// given, and a signature counter that stays 0 (as synced passkeys have it), so that assertions signed in advance
// may arrive in any order. It makes the JSON that @simplewebauthn/browser would send.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

type Cbor = number | Buffer | string | CborMap | { [key: string]: Cbor }
interface CborMap extends Map<number | string, Cbor> {}

/** The little CBOR WebAuthn needs: integers, byte and text strings, maps. */
function cbor (value: Cbor): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([major << 5 | n])
    if (n < 256) return Buffer.from([major << 5 | 24, n])
    const b = Buffer.alloc(3)
    b[0] = major << 5 | 25
    b.writeUInt16BE(n, 1)
    return b
  }
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value])
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)])
  const entries = value instanceof Map ? [...value] : Object.entries(value)
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])])
}

const sha256 = (data: Buffer | string): Buffer => createHash('sha256').update(data).digest()
const counter = Buffer.alloc(4) // always 0
const UP_UV = 0x05
const AT = 0x40

export interface RegistrationOptions { challenge: string, rp: { id?: string }, user: { id: string } }
export interface AuthenticationOptions { challenge: string }

/** One passkey: made by `register`, then signs assertions for any challenge. */
export class SoftwarePasskey {
  readonly id = randomBytes(16).toString('base64url')
  private readonly privateKey: KeyObject
  private readonly publicKey: KeyObject
  private userHandle = ''

  constructor (readonly rpId: string, readonly origin: string) {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }))
  }

  private clientData (type: string, challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }))
  }

  /** The registration response for `options` (the server's PublicKeyCredentialCreationOptionsJSON). */
  register (options: RegistrationOptions): object {
    this.userHandle = options.user.id
    const jwk = this.publicKey.export({ format: 'jwk' })
    const coseKey = new Map<number, Cbor>([[1, 2], [3, -7], [-1, 1],
      [-2, Buffer.from(jwk.x ?? '', 'base64url')], [-3, Buffer.from(jwk.y ?? '', 'base64url')]])
    const rawId = Buffer.from(this.id, 'base64url')
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(rawId.length)
    const authData = Buffer.concat([sha256(options.rp.id ?? this.rpId), Buffer.from([UP_UV | AT]), counter,
      Buffer.alloc(16), idLength, rawId, cbor(coseKey)])
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: this.clientData('webauthn.create', options.challenge).toString('base64url'),
        attestationObject: cbor({ fmt: 'none', attStmt: {}, authData }).toString('base64url'),
        transports: ['internal']
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {}
    }
  }

  /** The authentication response for a challenge from the server's login options. */
  assert (options: AuthenticationOptions): object {
    const clientDataJSON = this.clientData('webauthn.get', options.challenge)
    const authenticatorData = Buffer.concat([sha256(this.rpId), Buffer.from([UP_UV]), counter])
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), this.privateKey)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: this.userHandle
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {}
    }
  }
}
