import { equalHashes, live, type Expiring } from '../expiring.js'
import type { EndResult, EndScope, NewSession, RotateResult, SessionEnd, SessionInfo, SessionPolicy, SessionStore } from './types.js'
import { PARKED_MS, SPENT_KEPT } from './types.js'

interface Session extends Expiring {
  current: string
  /** A second current token: the one a grace retry handed out beside `current`. */
  alt?: string
  /** The token the last rotation spent, while it may still come back once (`graceMs`). */
  grace?: { hash: string, until: number }
  spent: Set<string>
  /** What the last rotation replaced, for `undoRotation`; gone once undone or superseded by an undo. */
  before?: Before
  claims: string
  amr: string
  createdAt: number
  lastUsedAt: number
}

/** The session before a rotation to `newHash` from `presented`; `trimmed`: the spent tokens it forgot, oldest first. */
interface Before {
  newHash: string
  presented: string
  current: string
  alt?: string
  grace?: { hash: string, until: number }
  trimmed: string[]
}

/** A session `createSession` ended beyond `maxSessions`, restorable until `until` (`PARKED_MS`). */
interface Parked extends Expiring {
  session: Session
}

/**
 * Sessions in this process, with the same semantics as `RedisSessionStore`. Every method runs synchronously to
 * its end, which makes each one atomic in Node's single thread. Expired sessions go when their user's are read
 * or swept (`sweep`, which `MemoryStore` runs on a timer).
 */
export class MemorySessionStore implements SessionStore {
  private readonly users = new Map<string, Map<string, Session>>()
  private readonly parked = new Map<string, Map<string, Parked>>()

  constructor (private readonly now: () => number) {}

  /** Number of users with sessions, live or not yet swept. */
  get size (): number {
    return this.users.size
  }

  sweep (): void {
    const now = this.now()
    for (const userKey of this.users.keys()) this.sessionsOf(userKey, now)
    for (const userKey of this.parked.keys()) this.parkedOf(userKey, now)
  }

  /** A user's parked sessions (those parked over PARKED_MS ago are dropped on the way). */
  private parkedOf (userKey: string, now: number): Map<string, Parked> {
    const parked = this.parked.get(userKey) ?? new Map<string, Parked>()
    for (const [id, entry] of parked) if (!live(entry, now)) parked.delete(id)
    if (parked.size === 0) this.parked.delete(userKey)
    return parked
  }

  /** A user's live sessions (expired ones are dropped on the way). */
  private sessionsOf (userKey: string, now: number): Map<string, Session> {
    const sessions = this.users.get(userKey) ?? new Map<string, Session>()
    for (const [id, session] of sessions) if (!live(session, now)) sessions.delete(id)
    if (sessions.size === 0) this.users.delete(userKey)
    return sessions
  }

  async createSession (userKey: string, sessionId: string, record: NewSession, policy: SessionPolicy): Promise<SessionEnd> {
    const now = this.now()
    const sessions = this.sessionsOf(userKey, now)
    const ended: string[] = []
    const max = policy.maxSessions ?? Infinity
    while (sessions.size >= max) {
      let oldest: [string, Session] | undefined
      for (const entry of sessions) if (!oldest || entry[1].lastUsedAt < oldest[1].lastUsedAt) oldest = entry
      if (!oldest) break
      // Ended (not live, not listed), but parked: a late answer's undo restores it (restoreSessions).
      sessions.delete(oldest[0])
      const parked = this.parkedOf(userKey, now)
      parked.set(oldest[0], { session: oldest[1], until: now + PARKED_MS })
      this.parked.set(userKey, parked)
      ended.push(oldest[0])
    }
    sessions.set(sessionId, {
      current: record.tokenHash,
      spent: new Set(),
      claims: record.claims,
      amr: record.amr,
      createdAt: policy.now,
      lastUsedAt: policy.now,
      until: this.now() + policy.ttlMs
    })
    this.users.set(userKey, sessions)
    return { ended }
  }

  async rotateSession (userKey: string, sessionId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult> {
    const now = this.now()
    const sessions = this.sessionsOf(userKey, now)
    const session = sessions.get(sessionId)
    if (!session) return { status: 'invalid' }
    if (equalHashes(session.current, tokenHash) || (session.alt !== undefined && equalHashes(session.alt, tokenHash))) {
      // Both current tokens are spent: of two, the first one rotated goes on and the other is now spent.
      const before = this.before(session, tokenHash, newHash)
      before.trimmed.push(...this.spend(session, session.current))
      if (session.alt !== undefined) before.trimmed.push(...this.spend(session, session.alt))
      delete session.alt
      session.current = newHash
      const graceMs = policy.graceMs ?? 0
      if (graceMs > 0) session.grace = { hash: tokenHash, until: now + graceMs }
      else delete session.grace
      return this.used(sessions, sessionId, session, policy)
    }
    if (session.grace !== undefined && session.grace.until > now && equalHashes(session.grace.hash, tokenHash)) {
      // The token the last rotation spent, once more within the grace: a second current token, once only.
      this.before(session, tokenHash, newHash)
      delete session.grace
      session.alt = newHash
      return this.used(sessions, sessionId, session, policy)
    }
    if (session.spent.has(tokenHash)) {
      // A spent token came back: someone holds a copy. End the session, and with it its access tokens.
      sessions.delete(sessionId)
      return { status: 'reused' }
    }
    return { status: 'invalid' }
  }

  /** Keeps what a rotation is about to replace, for `undoRotation`. */
  private before (session: Session, presented: string, newHash: string): Before {
    const { current, alt, grace } = session
    session.before = { newHash, presented, current, ...(alt !== undefined && { alt }), ...(grace !== undefined && { grace }), trimmed: [] }
    return session.before
  }

  /**
   * Remembers a spent token; the newest SPENT_KEPT are kept (a Set keeps insertion order): memory stays bounded.
   * Returns the ones it forgot.
   */
  private spend (session: Session, hash: string): string[] {
    session.spent.delete(hash)
    session.spent.add(hash)
    const forgotten: string[] = []
    for (const old of session.spent) {
      if (session.spent.size <= SPENT_KEPT) break
      session.spent.delete(old)
      forgotten.push(old)
    }
    return forgotten
  }

  /** A rotation's last use: the session lives `ttlMs` from now and moves to the end of the order of use. */
  private used (sessions: Map<string, Session>, sessionId: string, session: Session, policy: SessionPolicy): RotateResult {
    session.lastUsedAt = policy.now
    // The map's order is the order of last use: among sessions last used in the same millisecond, the
    // least recently used is the first (maxSessions ends it).
    sessions.delete(sessionId)
    sessions.set(sessionId, session)
    session.until = this.now() + policy.ttlMs
    return { status: 'ok', claims: session.claims }
  }

  async undoRotation (userKey: string, sessionId: string, tokenHash: string, newHash: string): Promise<boolean> {
    const now = this.now()
    const session = this.sessionsOf(userKey, now).get(sessionId)
    if (!session) return false
    const before = session.before
    if (before !== undefined && equalHashes(before.newHash, newHash) && equalHashes(before.presented, tokenHash)) {
      // The last rotation: nothing came after it, so what it replaced is exactly the session before it.
      session.current = before.current
      if (before.alt !== undefined) session.alt = before.alt
      else delete session.alt
      if (before.grace !== undefined && before.grace.until > now) session.grace = before.grace
      else delete session.grace
      session.spent.delete(before.current)
      if (before.alt !== undefined) session.spent.delete(before.alt)
      session.spent = new Set([...before.trimmed, ...session.spent])
      delete session.before
      return true
    }
    if (equalHashes(session.current, newHash)) session.current = tokenHash
    else if (session.alt !== undefined && equalHashes(session.alt, newHash)) session.alt = tokenHash
    else return false
    if (session.alt !== undefined && equalHashes(session.alt, session.current)) delete session.alt
    session.spent.delete(tokenHash)
    if (session.grace !== undefined && equalHashes(session.grace.hash, tokenHash)) delete session.grace
    // What the last rotation kept no longer describes the session.
    delete session.before
    return true
  }

  async restoreSessions (userKey: string, sessionIds: string[]): Promise<string[]> {
    const now = this.now()
    const parked = this.parkedOf(userKey, now)
    const sessions = this.sessionsOf(userKey, now)
    const restored: Array<[string, Session]> = []
    for (const id of sessionIds) {
      const entry = parked.get(id)
      if (entry === undefined) continue
      parked.delete(id)
      if (live(entry.session, now) !== undefined && !sessions.has(id)) restored.push([id, entry.session])
    }
    if (parked.size === 0) this.parked.delete(userKey)
    if (restored.length === 0) return []
    // Back in its place in the order of use: before the sessions last used in the same millisecond, as when it
    // was the first of them that maxSessions ended (a stable sort keeps the others' order).
    const ordered = [...restored, ...sessions].sort((a, b) => a[1].lastUsedAt - b[1].lastUsedAt)
    this.users.set(userKey, new Map(ordered))
    return restored.map(([id]) => id)
  }

  async isSessionLive (userKey: string, sessionId: string): Promise<boolean> {
    return live(this.users.get(userKey)?.get(sessionId), this.now()) !== undefined
  }

  async endSessions (userKey: string, scope: EndScope, sessionId = ''): Promise<EndResult> {
    const sessions = this.sessionsOf(userKey, this.now())
    // A parked session that is ended again stays ended: no restore brings it back.
    if (scope === 'one') {
      this.parked.get(userKey)?.delete(sessionId)
      return { status: 'ok', ended: sessions.delete(sessionId) ? [sessionId] : [] }
    }
    if (sessionId !== '' && !sessions.has(sessionId)) return { status: 'not-live' }
    this.parked.delete(userKey)
    const ended = [...sessions.keys()].filter((id) => scope === 'all' || id !== sessionId)
    for (const id of ended) sessions.delete(id)
    return { status: 'ok', ended }
  }

  async listSessions (userKey: string): Promise<SessionInfo[]> {
    return [...this.sessionsOf(userKey, this.now())].map(([id, s]) => ({
      id, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt, expiresAt: s.until, amr: s.amr
    }))
  }
}
