import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { MemoryTotpStore, RedisTotpStore, type OtpEvent, type OtpLoginOptions, type TotpStore } from '../lib/index.js'
import { CODE_SECRET, everyStore, freshCluster, freshRedis, storeKinds, wrongCode, type StoreKind } from './helpers/app.js'
import { mfaRecoverySchema, mfaTotpSchema, verifyRecoverySchema, verifyTotpSchema } from '../lib/routes/totp-schemas.js'
import { buildTotpApp, codeAt } from './helpers/totp.js'

// Regression: the lock check, the code check and the failure count were three steps, so a burst of parallel
// guesses all passed the lock check and were all checked against the secret (on Redis, 201 of 201).
for (const kind of storeKinds) {
  t.test(`${kind}: 100 parallel guesses and the right code: at most maxFailures are checked`, async (t) => {
    const redis = kind === 'redis' ? await freshRedis() : undefined
    const store: TotpStore = redis ? new RedisTotpStore({ client: redis }) : new MemoryTotpStore()
    let checked = 0
    const get = store.get.bind(store)
    store.get = async (identifier) => { checked++; return await get(identifier) }
    const { enable, verifyTotp, step } = await buildTotpApp(t, 'memory', {
      ...(redis ? { redis, codeSecret: CODE_SECRET } : {}), totpStore: store, maxFailures: 10
    })
    const phone = '+919876543210'
    const { secret } = await enable(phone)
    checked = 0
    const right = codeAt(secret, step())
    const guesses = Array.from({ length: 100 }, (_, i) => String((Number(wrongCode(right)) + i * 7) % 1e6).padStart(6, '0'))
      .filter((guess) => guess !== right)
    const results = await Promise.all([...guesses, right].map(async (guess) => await verifyTotp(phone, guess)))
    t.ok(checked <= 10, `checked ${checked} guesses against the secret`)
    const accepted = results.filter((r) => r.statusCode === 200).length
    const wrong = results.filter((r) => r.statusCode === 401).length
    t.ok(accepted + wrong <= 10, `${accepted} accepted and ${wrong} refused as wrong: no more than maxFailures answered after a check`)
    t.ok(results.every((r) => [200, 401, 429].includes(r.statusCode)), 'only 200, 401 and 429')
  })
}

/**
 * A TotpStore whose `get` (the check of a guess, after its reservation) waits while the gate is closed, so a test
 * holds guesses in flight. The gate opens once `inFlight` guesses wait there and `refused` requests are answered.
 */
function gatedTotpStore (store: TotpStore) {
  const waiting: Array<() => void> = []
  const answered: LightMyRequestResponse[] = []
  let gate: { inFlight: number, refused: number } | undefined
  const open = (): void => {
    if (gate === undefined || waiting.length < gate.inFlight || answered.length < gate.refused) return
    gate = undefined
    for (const go of waiting.splice(0)) go()
  }
  const get = store.get.bind(store)
  store.get = async (identifier) => {
    if (gate !== undefined) await new Promise<void>((resolve) => { waiting.push(resolve); open() })
    return await get(identifier)
  }
  /** Runs the requests with the gate closed; their answers in order. */
  const hold = async (inFlight: number, refused: number, requests: Array<() => Promise<LightMyRequestResponse>>) => {
    gate = { inFlight, refused }
    return await Promise.all(requests.map(async (request) => {
      const answer = await request()
      answered.push(answer)
      open()
      return answer
    }))
  }
  return { store, hold }
}

async function totpStoreOn (kind: StoreKind): Promise<{ totpStore: TotpStore, storeOptions: Partial<OtpLoginOptions> }> {
  if (kind === 'memory') return { totpStore: new MemoryTotpStore(), storeOptions: {} }
  const client = kind === 'redis' ? await freshRedis() : await freshCluster()
  return { totpStore: new RedisTotpStore({ client }), storeOptions: { redis: client, codeSecret: CODE_SECRET } }
}

// Regression: a guess refused because earlier ones were still being checked answered 429 OTP_LOCKED, though
// nothing was locked; it is 429 OTP_GUESS_PENDING with Retry-After: 1.
for (const kind of everyStore) {
  const phone = '+919876543210'
  const pending = (r: LightMyRequestResponse): boolean =>
    r.statusCode === 429 && r.json().code === 'OTP_GUESS_PENDING' && r.headers['retry-after'] === '1' && r.json().retryAfter === 1

  t.test(`${kind}: alternative mode, 5 parallel right codes with maxFailures 3: 2 refused as pending, none locked`, async (t) => {
    const { totpStore, storeOptions } = await totpStoreOn(kind)
    const gated = gatedTotpStore(totpStore)
    const events: OtpEvent[] = []
    const app = await buildTotpApp(t, 'memory', {
      ...storeOptions, totpStore, totpMode: 'alternative', maxFailures: 3, onEvent: (event) => { events.push(event) }
    })
    const { secret } = await app.enable(phone)
    const code = codeAt(secret, app.step())
    const results = await gated.hold(3, 2, Array.from({ length: 5 }, () => async () => await app.verifyTotp(phone, code)))
    t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'one sign-in')
    t.equal(results.filter((r) => r.statusCode === 401 && r.json().code === 'OTP_INVALID').length, 2, 'two replays of the used step')
    t.equal(results.filter(pending).length, 2, '429 OTP_GUESS_PENDING, Retry-After: 1')
    t.equal(results.filter((r) => r.json().code === 'OTP_LOCKED').length, 0, 'never OTP_LOCKED')
    t.equal(events.filter((e) => e.type === 'verify-failed' && e.reason === 'guess-pending').length, 2, 'an event names it')
    t.equal((await app.verifyTotp(phone, codeAt(secret, app.step() + 1))).statusCode, 200, 'nothing was locked')
  })

  t.test(`${kind}: second-factor mode, 5 parallel right codes on one mfaToken: 2 refused as pending, none locked`, async (t) => {
    const { totpStore, storeOptions } = await totpStoreOn(kind)
    const gated = gatedTotpStore(totpStore)
    const app = await buildTotpApp(t, 'memory', { ...storeOptions, totpStore, totpMode: 'second-factor', maxFailures: 3, maxAttempts: 10 })
    const { secret } = await app.enable(phone)
    const { mfaToken } = (await app.firstFactor(phone)).json()
    const code = codeAt(secret, app.step())
    const results = await gated.hold(3, 2, Array.from({ length: 5 }, () => async () => await app.mfaTotp(mfaToken, code)))
    t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'one sign-in')
    t.equal(results.filter((r) => r.statusCode === 401).length, 2, 'two replays (or the token found spent)')
    t.equal(results.filter(pending).length, 2, '429 OTP_GUESS_PENDING, Retry-After: 1')
    t.equal(results.filter((r) => r.json().code === 'OTP_LOCKED').length, 0, 'never OTP_LOCKED')
    const again = (await app.firstFactor(phone)).json()
    t.equal((await app.mfaTotp(again.mfaToken, codeAt(secret, app.step() + 1))).statusCode, 200, 'nothing was locked')
  })
}

t.test('the OpenAPI 429 of both authenticator routes, in both modes, names OTP_GUESS_PENDING', async (t) => {
  const kinds = new Set(['phone'] as const)
  for (const schema of [mfaTotpSchema(true), mfaRecoverySchema(true), verifyTotpSchema(kinds, true), verifyRecoverySchema(kinds, true)]) {
    t.match(JSON.stringify(schema.response[429]), /OTP_GUESS_PENDING/, schema.summary)
  }
})
