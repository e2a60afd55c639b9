import type { Test } from 'tap'
import type { OtpStore, SessionPolicy } from '../../lib/index.js'
import { PARKED_MS } from '../../lib/store/types.js'
import type { TestClock, Timed } from './clock.js'

/**
 * The sessions `createSession` ends beyond `maxSessions`: ended at once, yet parked for `PARKED_MS`, so that the
 * undo of a sign-in answered 503 brings them back (`restoreSessions`). Part of the OtpStore contract: run with a
 * moved clock on the MemoryStore, on Redis and on a Redis Cluster.
 */
export function parkContract (t: Test, makeStore: () => Promise<Timed<OtpStore>>): void {
  let n = 0
  // 22 characters, like the plugin's user keys and session ids.
  const id = (kind: string): string => `${kind}${String(++n).padStart(22 - kind.length, '0')}`
  const policy = (clock: TestClock, extra: Partial<SessionPolicy> = {}): SessionPolicy =>
    ({ ttlMs: 600_000, now: clock.now(), maxSessions: 2, graceMs: 10_000, ...extra })
  const record = (tokenHash: string, sub: string) => ({ tokenHash, claims: `{"sub":"${sub}"}`, amr: '["sms"]' })
  const ids = async (store: OtpStore, user: string): Promise<string[]> => (await store.listSessions(user)).map((s) => s.id).sort()

  /** A user with sessions a (rotated once: `ta` spent, `ta2` current) and b, then c, which ends a. */
  async function evicted (): Promise<Timed<OtpStore> & { user: string, a: string, b: string, c: string, now: number }> {
    const made = await makeStore()
    const { store, clock } = made
    const user = id('u')
    const [a, b, c] = [id('s'), id('s'), id('s')]
    const now = clock.now()
    await store.createSession(user, a, record('ta', 'a'), policy(clock, { now: now - 3000 }))
    await store.createSession(user, b, record('tb', 'b'), policy(clock, { now: now - 2000 }))
    await store.rotateSession(user, a, 'ta', 'ta2', policy(clock, { now: now - 1000 }))
    await store.rotateSession(user, b, 'tb', 'tb2', policy(clock, { now }))
    t.same(await store.createSession(user, c, record('tc', 'c'), policy(clock)), { ended: [a] }, 'a ended: used least recently')
    return { ...made, user, a, b, c, now }
  }

  t.test('parked: a session ended beyond maxSessions is at once not live, not listed, its tokens refused', async (t) => {
    const { store, clock, user, a, b, c } = await evicted()
    t.equal(await store.isSessionLive(user, a), false)
    t.same(await ids(store, user), [b, c].sort())
    t.same(await store.rotateSession(user, a, 'ta2', 'x', policy(clock)), { status: 'invalid' })
    t.same(await store.rotateSession(user, a, 'ta', 'x', policy(clock)), { status: 'invalid' }, 'no reuse either: nothing to end')
  })

  t.test('restore: the ended session is live again, with its token, claims, spent tokens, times and place', async (t) => {
    const { store, clock, user, a, b, c, now } = await evicted()
    // expiresAt aside: on Redis it is read from a TTL, to the millisecond of the call.
    const times = async (id: string) => (await store.listSessions(user)).filter((s) => s.id === id).map((s) => [s.createdAt, s.lastUsedAt, s.amr])
    const before = await times(b)
    t.same(await store.endSessions(user, 'one', c), { status: 'ok', ended: [c] }, 'the undo ends the new session first')
    t.same(await store.restoreSessions(user, [a]), [a])
    t.equal(await store.isSessionLive(user, a), true)
    t.same(await ids(store, user), [a, b].sort())
    const listed = (await store.listSessions(user)).find((s) => s.id === a)
    t.match(listed, { id: a, createdAt: now - 3000, lastUsedAt: now - 1000, amr: '["sms"]' })
    t.ok(listed !== undefined && listed.expiresAt > clock.now() + 590_000 && listed.expiresAt <= clock.now() + 600_000, 'its expiry as before')
    t.same(await times(b), before, 'b is untouched')
    t.same(await store.restoreSessions(user, [a]), [], 'once only')
    t.same(await store.createSession(user, id('s'), record('td', 'd'), policy(clock)), { ended: [a] }, 'its place: still the least recently used')
    t.same(await store.restoreSessions(user, [a]), [a])
    t.same(await store.rotateSession(user, a, 'ta2', 'ta3', policy(clock)), { status: 'ok', claims: '{"sub":"a"}' }, 'its current token and claims')
    t.same(await store.rotateSession(user, a, 'ta', 'x', policy(clock)), { status: 'reused' }, 'its spent tokens')
  })

  t.test('restore: its grace comes back too', async (t) => {
    const { store, clock, user, a, c } = await evicted()
    await store.endSessions(user, 'one', c)
    t.same(await store.restoreSessions(user, [a]), [a])
    t.same(await store.rotateSession(user, a, 'ta', 'ta3', policy(clock)), { status: 'ok', claims: '{"sub":"a"}' }, 'the token its last rotation spent, within the grace')
  })

  t.test('restore: with maxSessions 1, the index comes back with the session', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const [a, b] = [id('s'), id('s')]
    await store.createSession(user, a, record('ta', 'a'), policy(clock, { maxSessions: 1 }))
    t.same(await store.createSession(user, b, record('tb', 'b'), policy(clock, { maxSessions: 1 })), { ended: [a] })
    await store.endSessions(user, 'one', b)
    t.same(await store.listSessions(user), [], 'no session left')
    t.same(await store.restoreSessions(user, [a]), [a])
    t.same(await ids(store, user), [a])
    t.same(await store.createSession(user, b, record('tb', 'b'), policy(clock, { maxSessions: 1 })), { ended: [a] }, 'and counts against maxSessions')
  })

  t.test('restore: a parked session ends after its remaining lifetime, as before', async (t) => {
    const { store, clock } = await makeStore()
    const user = id('u')
    const [a, b] = [id('s'), id('s')]
    await store.createSession(user, a, record('ta', 'a'), policy(clock, { maxSessions: 1, ttlMs: 30_000 }))
    await clock.advance(10_000)
    await store.createSession(user, b, record('tb', 'b'), policy(clock, { maxSessions: 1 }))
    await store.endSessions(user, 'one', b)
    t.same(await store.restoreSessions(user, [a]), [a])
    await clock.advance(15_000)
    t.equal(await store.isSessionLive(user, a), true)
    await clock.advance(10_000)
    t.equal(await store.isSessionLive(user, a), false, '30 s after its last use')
  })

  t.test(`restore: nothing after PARKED_MS (${PARKED_MS} ms), nor of an unknown or live session, nor of another user`, async (t) => {
    const { store, clock, user, a, b, c } = await evicted()
    t.same(await store.restoreSessions(id('u'), [a]), [], 'another user\'s key')
    t.same(await store.restoreSessions(user, [b, id('s')]), [], 'a live session and an unknown one')
    t.same(await ids(store, user), [b, c].sort(), 'changed nothing')
    await clock.advance(PARKED_MS + 5_000)
    t.same(await store.restoreSessions(user, [a]), [])
    t.equal(await store.isSessionLive(user, a), false)
    t.same(await ids(store, user), [b, c].sort())
  })

  for (const scope of ['one', 'others', 'all'] as const) {
    t.test(`restore: a parked session ended again (endSessions '${scope}') stays ended`, async (t) => {
      const { store, user, a, b, c } = await evicted()
      const ended = await store.endSessions(user, scope, scope === 'one' ? a : b)
      const expected = scope === 'one' ? [] : scope === 'others' ? [c] : [b, c].sort()
      t.same(ended.status === 'ok' ? [...ended.ended].sort() : ended, expected, 'only live sessions are answered')
      t.same(await store.restoreSessions(user, [a]), [], 'a logout of every session meant it too')
      t.equal(await store.isSessionLive(user, a), false)
    })
  }
}
