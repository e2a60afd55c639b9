import t from 'tap'
import { MemoryTotpStore, RedisTotpStore, type TotpStore } from '../lib/index.js'
import { CODE_SECRET, freshRedis, storeKinds, wrongCode } from './helpers/app.js'
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
