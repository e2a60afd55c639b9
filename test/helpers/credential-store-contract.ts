import type { Cluster, Redis } from 'ioredis'
import type { Test } from 'tap'
import { RedisCredentialStore, type CredentialStore, type PasskeyRecord } from '../../lib/index.js'
import { redisClock, type Timed } from './clock.js'

/** For `init`: the warnings of a test Redis's settings are dropped. */
export const quiet = { warn: () => {} }

/** A RedisCredentialStore on an emptied `client` (`acceptDataLoss`), initialised, with the clock that moves its TTLs. */
export async function redisCredentialStore (client: Redis | Cluster): Promise<Timed<CredentialStore>> {
  const store = new RedisCredentialStore(client, { acceptDataLoss: true })
  await store.init(quiet)
  return { store, clock: redisClock(client) }
}

/**
 * The behaviour every CredentialStore must have, run against each implementation (and fit for a host's own
 * store). `makeStore` gives a store with no state (initialised, if it has an `init`) and the clock that moves it
 * (see clock.ts): expiry of a pending setup is shown by moving time, never by waiting.
 */
export function credentialStoreContract (t: Test, makeStore: () => Promise<Timed<CredentialStore>>): void {
  let n = 0
  const id = (): string => `+1555100${String(++n).padStart(4, '0')}`
  const hour = 3_600_000

  t.test('a pending setup is readable, not enabled, and can be replaced', async (t) => {
    const { store } = await makeStore()
    const a = id()
    t.equal(await store.get(a), undefined)
    t.equal(await store.savePending(a, 'secret1', hour), true)
    t.match(await store.get(a), { secret: 'secret1', enabled: false })
    t.equal(await store.savePending(a, 'secret2', hour), true)
    t.match(await store.get(a), { secret: 'secret2', enabled: false })
  })

  t.test('a pending setup expires', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    await store.savePending(a, 's', 10_000)
    await clock.advance(5_000)
    t.match(await store.get(a), { secret: 's', enabled: false }, 'halfway through, still pending')
    await clock.advance(5_000)
    t.equal(await store.get(a), undefined)
    t.equal(await store.enable(a, 's', ['h'], 1), false, 'an expired setup cannot be confirmed')
  })

  t.test('enable needs the pending secret; then it is on, for good', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    t.equal(await store.enable(a, 's', ['h'], 1), false, 'nothing pending')
    await store.savePending(a, 'new', 10_000)
    t.equal(await store.enable(a, 'old', ['h'], 1), false, 'a setup replaced since it was read')
    t.equal(await store.enable(a, 'new', ['h'], 1), true)
    t.match(await store.get(a), { secret: 'new', enabled: true })
    t.equal(await store.enable(a, 'new', ['h'], 2), false, 'already on')
    t.equal(await store.savePending(a, 'other', hour), false, 'no new setup while on')
    await clock.advance(20_000)
    t.match(await store.get(a), { secret: 'new', enabled: true }, 'an enabled record does not expire')
  })

  t.test('useStep: only later steps, never the confirming one', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    t.equal(await store.useStep(a, 100), false, 'not while pending')
    await store.enable(a, 's', [], 100)
    t.equal(await store.useStep(a, 100), false, 'the step that confirmed')
    t.equal(await store.useStep(a, 99), false, 'an earlier step')
    t.equal(await store.useStep(a, 101), true)
    t.equal(await store.useStep(a, 101), false, 'a replay')
    t.equal(await store.useStep(a, 103), true)
    t.equal(await store.useStep(a, 102), false, 'a step before the last used one')
    t.equal(await store.useStep(id(), 1), false, 'no record')
  })

  t.test('20 parallel useStep calls for one step: exactly one wins', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    await store.enable(a, 's', [], 1)
    const results = await Promise.all(Array.from({ length: 20 }, () => store.useStep(a, 2)))
    t.equal(results.filter(Boolean).length, 1)
  })

  t.test('recovery codes: each works once, only its own identifier, only when on', async (t) => {
    const { store } = await makeStore()
    const a = id()
    const b = id()
    await store.savePending(a, 's', hour)
    t.equal(await store.useRecoveryCode(a, 'h1'), false, 'not while pending')
    await store.enable(a, 's', ['h1', 'h2'], 1)
    t.equal(await store.useRecoveryCode(b, 'h1'), false, 'another identifier')
    t.equal(await store.useRecoveryCode(a, 'h1'), true)
    t.equal(await store.useRecoveryCode(a, 'h1'), false, 'used')
    t.equal(await store.useRecoveryCode(a, 'nope'), false)
    const parallel = await Promise.all(Array.from({ length: 20 }, () => store.useRecoveryCode(a, 'h2')))
    t.equal(parallel.filter(Boolean).length, 1, 'parallel uses of one code: one wins')
  })

  t.test('disable removes everything; a new setup starts clean', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    await store.enable(a, 's', ['h1'], 50)
    await store.disable(a)
    t.equal(await store.get(a), undefined)
    t.equal(await store.useRecoveryCode(a, 'h1'), false)
    t.equal(await store.useStep(a, 51), false)
    t.equal(await store.disable(a), undefined, 'disabling twice is fine: nothing removed')
    t.equal(await store.savePending(a, 's2', hour), true)
    t.equal(await store.enable(a, 's2', [], 10), true)
    t.equal(await store.useStep(a, 11), true, 'the last used step started again')
    t.equal(await store.useRecoveryCode(a, 'h1'), false, 'old recovery codes are gone')
  })

  const sorted = (list: readonly string[] | undefined): string[] | undefined => list && [...list].sort()

  t.test('recoveryCodesLeft: 0 while pending, then how many are unused', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    t.match(await store.get(a), { enabled: false, recoveryCodesLeft: 0 })
    await store.enable(a, 's', ['h1', 'h2', 'h3'], 1)
    t.match(await store.get(a), { enabled: true, recoveryCodesLeft: 3 })
    await store.useRecoveryCode(a, 'h2')
    t.match(await store.get(a), { recoveryCodesLeft: 2 })
  })

  t.test('restoreRecoveryCode gives back a used code, only while on', async (t) => {
    const { store } = await makeStore()
    const a = id()
    t.equal(await store.restoreRecoveryCode(a, 'h1'), false, 'no authenticator')
    await store.savePending(a, 's', hour)
    t.equal(await store.restoreRecoveryCode(a, 'h1'), false, 'not while pending')
    await store.enable(a, 's', ['h1'], 1)
    t.equal(await store.restoreRecoveryCode(a, 'h1'), false, 'an unused code is not given back twice')
    t.equal(await store.useRecoveryCode(a, 'h1'), true)
    t.equal(await store.restoreRecoveryCode(a, 'h1'), true)
    t.match(await store.get(a), { recoveryCodesLeft: 1 })
    t.equal(await store.useRecoveryCode(a, 'h1'), true, 'the code works again')
    await store.disable(a)
    t.equal(await store.restoreRecoveryCode(a, 'h1'), false, 'not after disable')
    t.equal(await store.get(a), undefined, 'and it created nothing')
  })

  t.test('replaceRecoveryCodes: the old codes die, the new ones work; what it replaced', async (t) => {
    const { store } = await makeStore()
    const a = id()
    t.equal(await store.replaceRecoveryCodes(a, ['n1']), undefined, 'no authenticator: nothing changed')
    t.equal(await store.get(a), undefined)
    await store.savePending(a, 's', hour)
    t.equal(await store.replaceRecoveryCodes(a, ['n1']), undefined, 'pending: nothing changed')
    t.match(await store.get(a), { enabled: false, recoveryCodesLeft: 0 })
    await store.enable(a, 's', ['h1', 'h2', 'h3'], 1)
    await store.useRecoveryCode(a, 'h1')
    t.same(sorted(await store.replaceRecoveryCodes(a, ['n1', 'n2'])), ['h2', 'h3'], 'the unused old ones')
    t.match(await store.get(a), { enabled: true, recoveryCodesLeft: 2 })
    t.equal(await store.useRecoveryCode(a, 'h2'), false, 'an old code is dead')
    t.equal(await store.useRecoveryCode(a, 'n1'), true)
    t.equal(await store.useStep(a, 2), true, 'the authenticator itself is untouched')
    t.same(sorted(await store.replaceRecoveryCodes(a, [])), ['n2'])
    t.match(await store.get(a), { enabled: true, recoveryCodesLeft: 0 })
  })

  t.test('replaceSecret: compare-and-set on the encrypted secret', async (t) => {
    const { store } = await makeStore()
    const a = id()
    t.equal(await store.replaceSecret(a, 's', 't'), false, 'no authenticator')
    t.equal(await store.get(a), undefined, 'and it created nothing')
    await store.savePending(a, 's', hour)
    await store.enable(a, 's', ['h1'], 5)
    t.equal(await store.replaceSecret(a, 'other', 't'), false, 'changed since it was read')
    t.match(await store.get(a), { secret: 's' })
    t.equal(await store.replaceSecret(a, 's', 't'), true)
    t.match(await store.get(a), { secret: 't', enabled: true, recoveryCodesLeft: 1 })
    t.equal(await store.replaceSecret(a, 's', 'u'), false, 'a second rotation from the old value loses')
    t.equal(await store.useStep(a, 5), false, 'the last step is kept')
    t.equal(await store.useStep(a, 6), true)
  })

  t.test('disable returns what it removed and restoreTotp puts an enabled one back', async (t) => {
    const { store } = await makeStore()
    const a = id()
    await store.savePending(a, 's', hour)
    await store.enable(a, 's', ['h1', 'h2'], 40)
    await store.useStep(a, 42)
    await store.useRecoveryCode(a, 'h1')
    const state = await store.disable(a)
    t.ok(state)
    if (state === undefined) return
    t.same({ ...state, recoveryHashes: sorted(state.recoveryHashes) },
      { secret: 's', enabled: true, lastStep: 42, recoveryHashes: ['h2'] })
    t.equal(state.expiresAt, undefined, 'an enabled one has no expiry')
    t.equal(await store.get(a), undefined)
    t.equal(await store.restoreTotp(a, state), true)
    t.match(await store.get(a), { secret: 's', enabled: true, recoveryCodesLeft: 1 })
    t.equal(await store.useStep(a, 42), false, 'the last step came back too')
    t.equal(await store.useRecoveryCode(a, 'h1'), false, 'a used code stays used')
    t.equal(await store.useRecoveryCode(a, 'h2'), true)
    t.equal(await store.useStep(a, 43), true)
    t.equal(await store.restoreTotp(a, state), false, 'refused: there is one now')
    t.match(await store.get(a), { secret: 's', recoveryCodesLeft: 0 }, 'and nothing changed')
  })

  t.test('restoreTotp is refused over a pending setup, and puts back a pending one with its expiry', async (t) => {
    const { store, clock } = await makeStore()
    const a = id()
    await store.savePending(a, 'p', 10_000)
    const pending = await store.disable(a)
    t.match(pending, { secret: 'p', enabled: false, lastStep: -1, recoveryHashes: [] })
    t.type(pending?.expiresAt, 'number', 'a pending one has its expiry')
    if (pending === undefined) return
    await store.savePending(a, 'newer', hour)
    t.equal(await store.restoreTotp(a, pending), false, 'refused: a newer setup is pending')
    t.match(await store.get(a), { secret: 'newer' })
    await store.disable(a)
    await clock.advance(3_000)
    t.equal(await store.restoreTotp(a, pending), true)
    t.match(await store.get(a), { secret: 'p', enabled: false })
    t.equal(await store.enable(a, 'p', ['h'], 1), true, 'a restored setup can be confirmed')
    const b = id()
    await store.savePending(b, 'q', 10_000)
    const state = await store.disable(b)
    if (state === undefined) return t.fail('nothing removed')
    t.equal(await store.restoreTotp(b, state), true)
    await clock.advance(5_000)
    t.match(await store.get(b), { secret: 'q' }, 'before its expiry')
    await clock.advance(6_000)
    t.equal(await store.get(b), undefined, 'it still expires when it would have')
  })

  let pk = 0
  const passkey = (over: Partial<PasskeyRecord> = {}): PasskeyRecord => ({
    id: `cred-${++pk}-${Math.random().toString(36).slice(2)}`,
    publicKey: 'pQECAyYgASFYIA',
    counter: 0,
    transports: ['internal', 'hybrid'],
    name: 'Passkey',
    createdAt: 1_900_000_000_000 + pk,
    lastUsedAt: null,
    backedUp: true,
    identity: { kind: 'email', value: 'ana@example.com' },
    ...over
  })

  t.test('passkeys: add, list oldest first, find by id with its owner', async (t) => {
    const { store } = await makeStore()
    const a = `user:${id()}`
    const b = `user:${id()}`
    t.same(await store.listPasskeys(a), [])
    const late = passkey({ createdAt: 2_000, name: 'Laptop', lastUsedAt: 2_500, counter: 7, backedUp: false, transports: ['usb'] })
    const early = passkey({ createdAt: 1_000, name: 'Phone' })
    t.equal(await store.addPasskey(a, late), true)
    t.equal(await store.addPasskey(a, early), true)
    t.equal(await store.addPasskey(b, passkey({ createdAt: 500 })), true)
    t.same(await store.listPasskeys(a), [early, late], 'oldest first, every field kept')
    t.same(await store.findPasskey(late.id), { owner: a, passkey: late })
    t.equal(await store.findPasskey('no-such-id'), undefined)
    t.equal((await store.listPasskeys(b)).length, 1)
  })

  t.test('passkeys: an id exists once, for any owner', async (t) => {
    const { store } = await makeStore()
    const a = `user:${id()}`
    const b = `user:${id()}`
    const key = passkey()
    t.equal(await store.addPasskey(a, key), true)
    t.equal(await store.addPasskey(a, { ...key, name: 'Again' }), false, 'the same owner')
    t.equal(await store.addPasskey(b, { ...key, name: 'Theirs' }), false, 'another owner')
    t.same(await store.findPasskey(key.id), { owner: a, passkey: key }, 'nothing changed')
    t.same(await store.listPasskeys(b), [])
    await store.removePasskey(a, key.id)
    t.equal(await store.addPasskey(b, key), true, 'once removed, the id can be added again')
    t.same(await store.findPasskey(key.id), { owner: b, passkey: key })
  })

  t.test('usePasskey: the counter must go up, unless both are 0', async (t) => {
    const { store } = await makeStore()
    const a = `user:${id()}`
    const zero = passkey({ counter: 0 })
    const counted = passkey({ counter: 5 })
    await store.addPasskey(a, zero)
    await store.addPasskey(a, counted)
    t.equal(await store.usePasskey('no-such-id', 1, 10), 'unknown')
    t.equal(await store.usePasskey(zero.id, 0, 10), 'used', '0 and 0: no counter')
    t.match(await store.findPasskey(zero.id), { passkey: { counter: 0, lastUsedAt: 10 } })
    t.equal(await store.usePasskey(counted.id, 5, 20), 'counter-went-back', 'equal')
    t.equal(await store.usePasskey(counted.id, 4, 20), 'counter-went-back', 'lower')
    t.equal(await store.usePasskey(counted.id, 0, 20), 'counter-went-back', '0 after a counter')
    t.match(await store.findPasskey(counted.id), { passkey: { counter: 5, lastUsedAt: null } }, 'nothing changed')
    t.equal(await store.usePasskey(counted.id, 9, 30), 'used', 'higher')
    t.match(await store.findPasskey(counted.id), { passkey: { counter: 9, lastUsedAt: 30 } })
    t.equal(await store.usePasskey(zero.id, 3, 40), 'used', 'a counter that starts counting')
    t.equal(await store.usePasskey(zero.id, 0, 50), 'counter-went-back', 'and then cannot go back to 0')
    t.same((await store.listPasskeys(a)).map((p) => p.counter), [3, 9])
  })

  t.test('20 parallel usePasskey calls with the same next counter: exactly one wins', async (t) => {
    const { store } = await makeStore()
    const key = passkey({ counter: 5 })
    await store.addPasskey(`user:${id()}`, key)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.usePasskey(key.id, 6, 100 + i)))
    t.equal(results.filter((r) => r === 'used').length, 1)
    t.equal(results.filter((r) => r === 'counter-went-back').length, 19)
    t.match(await store.findPasskey(key.id), { passkey: { counter: 6 } })
  })

  t.test('renamePasskey and removePasskey: only by the owner', async (t) => {
    const { store } = await makeStore()
    const a = `user:${id()}`
    const b = `user:${id()}`
    const key = passkey({ name: 'Phone' })
    await store.addPasskey(a, key)
    t.equal(await store.renamePasskey(b, key.id, 'Mine now'), false, 'another owner')
    t.equal(await store.renamePasskey(a, 'no-such-id', 'X'), false)
    t.equal(await store.renamePasskey(a, key.id, 'Work phone'), true)
    t.match(await store.findPasskey(key.id), { owner: a, passkey: { name: 'Work phone' } })
    t.equal(await store.removePasskey(b, key.id), undefined, 'another owner')
    t.ok(await store.findPasskey(key.id), 'still there')
    t.same(await store.removePasskey(a, key.id), { ...key, name: 'Work phone' }, 'what it removed')
    t.equal(await store.findPasskey(key.id), undefined)
    t.same(await store.listPasskeys(a), [])
    t.equal(await store.removePasskey(a, key.id), undefined, 'twice')
    t.equal(await store.usePasskey(key.id, 1, 1), 'unknown')
  })

  t.test('rebindPasskeys moves every passkey of the owner to a new identity, only theirs', async (t) => {
    const { store } = await makeStore()
    const a = `user:${id()}`
    const b = `user:${id()}`
    await store.addPasskey(a, passkey())
    await store.addPasskey(a, passkey())
    const theirs = passkey()
    await store.addPasskey(b, theirs)
    const identity = { kind: 'phone', value: '+15551234567' } as const
    t.equal(await store.rebindPasskeys(a, identity), 2)
    t.same((await store.listPasskeys(a)).map((p) => p.identity), [identity, identity])
    t.same(await store.findPasskey(theirs.id), { owner: b, passkey: theirs }, 'another owner untouched')
    t.equal(await store.rebindPasskeys(`user:${id()}`, identity), 0, 'an owner without passkeys')
  })
}
