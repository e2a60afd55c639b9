import type { Test } from 'tap'
import type { OtpStore, SessionPolicy } from '../../lib/index.js'
import { SPENT_KEPT } from '../../lib/store/sessions/types.js'
import type { TestClock, Timed } from './clock.js'

/**
 * The refresh grace (`graceMs`) and the undo of a late rotation (`undoRotation`). Part of the OtpStore contract:
 * run with a moved clock on the MemoryStore, on Redis and on a Redis Cluster.
 */
export function graceContract (t: Test, makeStore: () => Promise<Timed<OtpStore>>): void {
  let n = 0
  // 22 characters, like the plugin's user keys and session ids.
  const id = (kind: string): string => `${kind}${String(++n).padStart(22 - kind.length, '0')}`
  const graceMs = 10_000
  const policy = (clock: TestClock, extra: Partial<SessionPolicy> = {}): SessionPolicy => ({ ttlMs: 60_000, now: clock.now(), graceMs, ...extra })
  const record = (tokenHash: string) => ({ tokenHash, claims: '{"sub":"u1"}', amr: '["sms"]' })
  const ok = { status: 'ok', claims: '{"sub":"u1"}' }

  /** A store with one session whose first token is `t1`. */
  async function session (): Promise<Timed<OtpStore> & { user: string, sid: string }> {
    const made = await makeStore()
    const user = id('u')
    const sid = id('s')
    await made.store.createSession(user, sid, record('t1'), policy(made.clock))
    return { ...made, user, sid }
  }

  t.test('grace: the spent token once more within graceMs gets a token of its own; a third time is reuse', async (t) => {
    const { store, clock, user, sid } = await session()
    t.same(await store.rotateSession(user, sid, 't1', 't2', policy(clock)), ok)
    await clock.advance(5_000)
    t.same(await store.rotateSession(user, sid, 't1', 't3', policy(clock)), ok, 'the retry within the grace')
    t.same(await store.rotateSession(user, sid, 't1', 't4', policy(clock)), { status: 'reused' }, 'a third presentation')
    t.equal(await store.isSessionLive(user, sid), false, 'the session ended')
    t.same(await store.rotateSession(user, sid, 't2', 'x', policy(clock)), { status: 'invalid' }, 'with both tokens')
    t.same(await store.rotateSession(user, sid, 't3', 'x', policy(clock)), { status: 'invalid' })
  })

  t.test('grace: after graceMs, the spent token is reuse', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    await clock.advance(graceMs)
    t.same(await store.rotateSession(user, sid, 't1', 't3', policy(clock)), { status: 'reused' })
    t.equal(await store.isSessionLive(user, sid), false)
  })

  t.test('grace: both current tokens work; the first one rotated goes on, the other is then spent', async (t) => {
    for (const first of ['t2', 't3']) {
      const { store, clock, user, sid } = await session()
      const other = first === 't2' ? 't3' : 't2'
      await store.rotateSession(user, sid, 't1', 't2', policy(clock))
      await store.rotateSession(user, sid, 't1', 't3', policy(clock))
      t.equal(await store.isSessionLive(user, sid), true)
      t.same(await store.rotateSession(user, sid, first, 't4', policy(clock)), ok, `${first}, rotated first, goes on`)
      t.same(await store.rotateSession(user, sid, 't4', 't5', policy(clock)), ok, 'and so does its successor')
      t.same(await store.rotateSession(user, sid, other, 'x', policy(clock)), { status: 'reused' }, `${other} was spent with it: reuse`)
      t.equal(await store.isSessionLive(user, sid), false)
    }
  })

  t.test('grace: a superseded twin gets no grace of its own', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    await store.rotateSession(user, sid, 't1', 't3', policy(clock))
    await store.rotateSession(user, sid, 't3', 't4', policy(clock))
    t.same(await store.rotateSession(user, sid, 't3', 't5', policy(clock)), ok, 'the token just rotated has its grace')
    t.same(await store.rotateSession(user, sid, 't2', 'x', policy(clock)), { status: 'reused' }, 'its twin, spent by that rotation, has none')
  })

  t.test('grace: only for the token the last rotation spent', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    await store.rotateSession(user, sid, 't2', 't3', policy(clock))
    t.same(await store.rotateSession(user, sid, 't1', 'x', policy(clock)), { status: 'reused' }, 'two rotations back, within the grace: reuse')
  })

  t.test('grace: graceMs 0 (or none) is reuse at once', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock, { graceMs: 0 }))
    t.same(await store.rotateSession(user, sid, 't1', 't3', policy(clock)), { status: 'reused' })
  })

  t.test('grace: a retry is a use: the session lives ttlMs from it', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock, { ttlMs: 20_000 }))
    await clock.advance(5_000)
    const retryAt = clock.now()
    await store.rotateSession(user, sid, 't1', 't3', policy(clock, { ttlMs: 20_000, now: retryAt }))
    await clock.advance(17_000)
    t.equal(await store.isSessionLive(user, sid), true, '22 s after the rotation, 17 s after the retry')
    const listed = await store.listSessions(user)
    t.equal(listed[0]?.lastUsedAt, retryAt, 'lastUsedAt is the retry')
  })

  t.test('grace: 20 parallel rotations of one token: two ok, then reuse ends the session', async (t) => {
    const { store, clock, user, sid } = await session()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.rotateSession(user, sid, 't1', `n${i}`, policy(clock))))
    t.equal(results.filter((r) => r.status === 'ok').length, 2, 'the rotation and its one retry')
    t.equal(results.filter((r) => r.status === 'reused').length, 1, 'the third presentation')
    t.equal(results.filter((r) => r.status === 'invalid').length, 17, 'then no session')
    t.equal(await store.isSessionLive(user, sid), false)
  })

  t.test('undo: a late rotation undone: the presented token is current again; the new one is refused', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    t.equal(await store.undoRotation(user, sid, 't1', 't2'), true)
    t.same(await store.rotateSession(user, sid, 't2', 'x', policy(clock)), { status: 'invalid' }, 'the token nobody was given')
    t.equal(await store.isSessionLive(user, sid), true)
    t.same(await store.rotateSession(user, sid, 't1', 't3', policy(clock)), ok, 'the token the client holds')
    t.same(await store.rotateSession(user, sid, 't1', 't4', policy(clock)), ok, 'with a grace of its own')
    t.same(await store.rotateSession(user, sid, 't1', 't5', policy(clock)), { status: 'reused' })
  })

  t.test('undo: without a grace, the retry after an undo is a plain rotation', async (t) => {
    const { store, clock, user, sid } = await session()
    const strict = { graceMs: 0 }
    await store.rotateSession(user, sid, 't1', 't2', policy(clock, strict))
    await store.undoRotation(user, sid, 't1', 't2')
    t.same(await store.rotateSession(user, sid, 't1', 't3', policy(clock, strict)), ok)
    t.same(await store.rotateSession(user, sid, 't1', 't4', policy(clock, strict)), { status: 'reused' }, 'then spent as ever')
  })

  t.test('undo: a late rotation and its late retry, undone in turn, leave the one token the client holds', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    await store.rotateSession(user, sid, 't1', 't3', policy(clock))
    t.equal(await store.undoRotation(user, sid, 't1', 't2'), true)
    t.equal(await store.undoRotation(user, sid, 't1', 't3'), true)
    for (const never of ['t2', 't3']) t.same(await store.rotateSession(user, sid, never, 'x', policy(clock)), { status: 'invalid' }, never)
    t.same(await store.rotateSession(user, sid, 't1', 't4', policy(clock)), ok)
    t.same(await store.rotateSession(user, sid, 't4', 't5', policy(clock)), ok)
  })

  t.test('undo: a late grace retry undone leaves both tokens the clients hold', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    await store.rotateSession(user, sid, 't1', 't3', policy(clock))
    t.equal(await store.undoRotation(user, sid, 't1', 't3'), true)
    t.same(await store.rotateSession(user, sid, 't3', 'x', policy(clock)), { status: 'invalid' }, 'the token nobody was given')
    t.same(await store.rotateSession(user, sid, 't1', 't4', policy(clock)), ok, 'the retry goes on, on the grace it had')
    t.same(await store.rotateSession(user, sid, 't1', 'x', policy(clock)), { status: 'reused' }, 'once only')
  })

  t.test('undo: a late grace retry undone leaves the other tab\'s token current', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    await store.rotateSession(user, sid, 't1', 't3', policy(clock))
    t.equal(await store.undoRotation(user, sid, 't1', 't3'), true)
    t.same(await store.rotateSession(user, sid, 't2', 't4', policy(clock)), ok, 't2 was never spent')
    t.same(await store.rotateSession(user, sid, 't4', 't5', policy(clock)), ok)
  })

  t.test('undo: a late rotation of a session with two current tokens puts both back, and no grace', async (t) => {
    for (const first of ['t2', 't3']) {
      const { store, clock, user, sid } = await session()
      const other = first === 't2' ? 't3' : 't2'
      await store.rotateSession(user, sid, 't1', 't2', policy(clock)) // tab A
      await store.rotateSession(user, sid, 't1', 't3', policy(clock)) // tab B, the grace retry: t2 and t3 current
      await store.rotateSession(user, sid, other, 't4', policy(clock)) // a rotation the client was told 503
      t.equal(await store.undoRotation(user, sid, other, 't4'), true)
      t.same(await store.rotateSession(user, sid, 't4', 'x', policy(clock)), { status: 'invalid' }, 'the token nobody was given')
      t.same(await store.rotateSession(user, sid, first, 't5', policy(clock)), ok, `${first}, the token ${other}'s rotation spent, is current`)
      t.same(await store.rotateSession(user, sid, 't5', 't6', policy(clock)), ok, 'and goes on')
      t.same(await store.rotateSession(user, sid, 't1', 'x', policy(clock)), { status: 'reused' }, 'the grace retry used the grace: none came back')
    }
  })

  t.test('undo: the grace a late rotation replaced comes back with the time it had left', async (t) => {
    for (const wait of [0, 6_000]) {
      const { store, clock, user, sid } = await session()
      await store.rotateSession(user, sid, 't1', 't2', policy(clock)) // t1 has a grace of 10 s
      await clock.advance(4_000)
      await store.rotateSession(user, sid, 't2', 't3', policy(clock)) // late: t2 gets the grace
      t.equal(await store.undoRotation(user, sid, 't2', 't3'), true)
      await clock.advance(wait)
      if (wait === 0) {
        t.same(await store.rotateSession(user, sid, 't1', 't4', policy(clock)), ok, 't1 within what was left of its grace')
        t.same(await store.rotateSession(user, sid, 't2', 't5', policy(clock)), ok, 'beside t2')
      } else {
        t.same(await store.rotateSession(user, sid, 't1', 't4', policy(clock)), { status: 'reused' }, '6 s later, its grace ran out as it would have')
      }
    }
  })

  t.test('undo: the spent tokens a late rotation forgot are remembered again', async (t) => {
    const { store, clock, user, sid } = await session()
    const strict = { graceMs: 0 }
    let token = 't1'
    for (let i = 1; i <= SPENT_KEPT; i++) {
      await store.rotateSession(user, sid, token, `r${i}`, policy(clock, strict))
      token = `r${i}`
    }
    // SPENT_KEPT tokens are spent, t1 the oldest; the next rotation forgets it.
    await store.rotateSession(user, sid, token, 'late', policy(clock, strict))
    t.equal(await store.undoRotation(user, sid, token, 'late'), true)
    t.same(await store.rotateSession(user, sid, 't1', 'x', policy(clock, strict)), { status: 'reused' }, 't1 is reuse again, not unknown')
  })

  t.test('undo: nothing changes once the new token was rotated on, or the session ended', async (t) => {
    const { store, clock, user, sid } = await session()
    await store.rotateSession(user, sid, 't1', 't2', policy(clock))
    await store.rotateSession(user, sid, 't2', 't3', policy(clock))
    t.equal(await store.undoRotation(user, sid, 't1', 't2'), false)
    t.same(await store.rotateSession(user, sid, 't3', 't4', policy(clock)), ok, 't3 is untouched')
    await store.endSessions(user, 'one', sid)
    t.equal(await store.undoRotation(user, sid, 't3', 't4'), false)
    t.equal(await store.isSessionLive(user, sid), false, 'an ended session stays ended')
    t.equal(await store.undoRotation(id('u'), id('s'), 'a', 'b'), false, 'an unknown session')
  })
}
