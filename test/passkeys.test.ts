import t from 'tap'
import type { OtpLoginOptions } from '../lib/index.js'
import { buildApp, claims, storeKinds, type StoreKind } from './helpers/app.js'
import { SoftAuthenticator } from './helpers/webauthn.js'

const origin = 'http://localhost:3000'
const passkeys = { rpId: 'localhost', rpName: 'Test shop', origins: [origin] }
const phone = '+919876543210'

async function buildPasskeyApp (t: Parameters<typeof buildApp>[0], kind: StoreKind, options: Partial<OtpLoginOptions> = {}) {
  const built = await buildApp(t, kind, { passkeys, resendInterval: 0, maxSends: 100, ...options })
  const { app, login, verify, codeFor } = built
  const bearer = (access: string) => ({ authorization: `Bearer ${access}` })
  const accessFor = async (identifier: string): Promise<string> => {
    await login(identifier)
    const res = await verify(identifier, codeFor(identifier))
    if (res.statusCode !== 200) throw new Error(`could not log in ${identifier}: ${res.body}`)
    return res.json().access
  }
  const registerOptions = async (access: string) => await app.inject({ method: 'POST', url: '/passkeys/register/options', headers: bearer(access) })
  const register = async (access: string, response: unknown, name?: string) =>
    await app.inject({ method: 'POST', url: '/passkeys/register', headers: bearer(access), payload: { response, ...(name === undefined ? {} : { name }) } })
  const loginOptions = async () => await app.inject({ method: 'POST', url: '/passkeys/login/options' })
  const passkeyLogin = async (response: unknown) => await app.inject({ method: 'POST', url: '/passkeys/login', payload: { response } })
  const list = async (access: string) => await app.inject({ method: 'GET', url: '/passkeys', headers: bearer(access) })
  /** Signs in by code, then adds a passkey of `authenticator`: the access token and the new passkey's id. */
  const addPasskey = async (authenticator: SoftAuthenticator, identifier = phone) => {
    const access = await accessFor(identifier)
    const options = (await registerOptions(access)).json()
    const res = await register(access, authenticator.create(options))
    if (res.statusCode !== 200) throw new Error(`could not add a passkey: ${res.body}`)
    return { access, id: res.json().id as string }
  }
  return { ...built, bearer, accessFor, registerOptions, register, loginOptions, passkeyLogin, list, addPasskey }
}

for (const kind of storeKinds) {
  t.test(`${kind} store: passkeys`, async (t) => {
    t.test('register, then sign in with it', async (t) => {
      const { addPasskey, loginOptions, passkeyLogin, list } = await buildPasskeyApp(t, kind)
      const authenticator = new SoftAuthenticator({ origin, rpId: 'localhost' })
      const { access, id } = await addPasskey(authenticator)
      const listed = (await list(access)).json()
      t.equal(listed.passkeys.length, 1)
      t.equal(listed.passkeys[0].id, id)
      const res = await passkeyLogin(authenticator.get((await loginOptions()).json()))
      t.equal(res.statusCode, 200, res.body)
      const token = claims(res.json().access)
      t.equal(token.sub, phone)
      t.same(token.amr, ['hwk', 'mfa'])
    })
  })
}
