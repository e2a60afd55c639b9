import type { Cluster, Redis } from 'ioredis'
import { defineScripts, script, unexpected, type ScriptCall } from '../lua.js'
import type { EndResult, EndScope, NewSession, RotateResult, SessionEnd, SessionInfo, SessionPolicy, SessionStore } from './types.js'
import { PARKED_MS, SPENT_KEPT } from './types.js'

const scripts = {
  otpLoginSessionCreate: script('session-create', 1),
  otpLoginSessionRotate: script('session-rotate', 1),
  otpLoginSessionEnd: script('session-end', 1),
  otpLoginSessionList: script('session-list', 1),
  otpLoginSessionUndo: script('session-undo', 1),
  otpLoginSessionRestore: script('session-restore', 1)
}

// What each script answers, as its Lua says: a word first, then what goes with it.
type RotateReply = ['ok', string?] | ['reused'] | ['invalid']
type EndReply = ['ok', ...string[]] | ['not-live']

interface ScriptedClient {
  /** The ids of the sessions that ended. */
  otpLoginSessionCreate: ScriptCall<string[]>
  otpLoginSessionRotate: ScriptCall<RotateReply>
  otpLoginSessionEnd: ScriptCall<EndReply>
  /** Five entries a session: id, createdAt, lastUsedAt, ttlMs, amr. */
  otpLoginSessionList: ScriptCall<Array<string | number>>
  otpLoginSessionUndo: ScriptCall<['undone'] | ['not-current']>
  otpLoginSessionRestore: ScriptCall<['restored', ...string[]]>
  exists: (key: string) => Promise<number>
}

function rotateResult (reply: RotateReply): RotateResult {
  switch (reply[0]) {
    // A session hash without its claims (damaged by hand, say) opens nothing, as before the answers had words.
    case 'ok': return typeof reply[1] === 'string' ? { status: 'ok', claims: reply[1] } : { status: 'invalid' }
    case 'reused': case 'invalid': return { status: reply[0] }
    default: return unexpected(reply)
  }
}

function endResult (reply: EndReply): EndResult {
  switch (reply[0]) {
    case 'ok': { const [, ...ended] = reply; return { status: 'ok', ended } }
    case 'not-live': return { status: 'not-live' }
    default: return unexpected(reply)
  }
}

export interface RedisSessionStoreOptions {
  /** An ioredis `Redis` or `Cluster` client; the store never closes it. */
  client: Redis | Cluster
  /** Prefix of every key; default `'otp:'`. */
  keyPrefix?: string
  /**
   * A pub/sub channel on which the session scripts announce the ids of the sessions they end (space-separated),
   * in the same round trip; the plugin's session cache listens there. None by default.
   */
  endedChannel?: string
}

/**
 * Sessions in Redis: per user, an index (a sorted set by last use) and one hash per session, all under the hash
 * tag `{u:userKey}`, so every script touches one slot and runs on Redis Cluster too. Each operation is one Lua
 * script (one round trip); every key gets its TTL inside the script.
 */
export class RedisSessionStore implements SessionStore {
  private readonly client: ScriptedClient
  private readonly keyPrefix: string
  private readonly endedChannel: string

  constructor ({ client, keyPrefix = 'otp:', endedChannel = '' }: RedisSessionStoreOptions) {
    defineScripts(client, scripts)
    this.client = client as unknown as ScriptedClient
    this.keyPrefix = keyPrefix
    this.endedChannel = endedChannel
  }

  /** A user's session index and the prefix of their session keys, under one hash tag. */
  private userKeys (userKey: string): { index: string, base: string } {
    const base = `${this.keyPrefix}{u:${userKey}}:`
    return { index: base + 'sessions', base: base + 's:' }
  }

  async createSession (userKey: string, sessionId: string, record: NewSession, policy: SessionPolicy): Promise<SessionEnd> {
    const k = this.userKeys(userKey)
    const ended = await this.client.otpLoginSessionCreate(
      k.index, k.base, sessionId, record.tokenHash, record.claims, record.amr, policy.now, policy.ttlMs, policy.maxSessions ?? 1_000_000_000,
      this.endedChannel, PARKED_MS
    )
    return { ended }
  }

  async restoreSessions (userKey: string, sessionIds: string[]): Promise<string[]> {
    const k = this.userKeys(userKey)
    const reply = await this.client.otpLoginSessionRestore(k.index, k.base, ...sessionIds)
    if (reply[0] !== 'restored') return unexpected(reply[0])
    const [, ...restored] = reply
    return restored
  }

  async rotateSession (userKey: string, sessionId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult> {
    const k = this.userKeys(userKey)
    return rotateResult(await this.client.otpLoginSessionRotate(
      k.index, k.base, sessionId, tokenHash, newHash, policy.now, policy.ttlMs, SPENT_KEPT, this.endedChannel, policy.graceMs ?? 0
    ))
  }

  async undoRotation (userKey: string, sessionId: string, tokenHash: string, newHash: string): Promise<boolean> {
    const [word] = await this.client.otpLoginSessionUndo(this.userKeys(userKey).base + sessionId, tokenHash, newHash)
    return word === 'undone'
  }

  async isSessionLive (userKey: string, sessionId: string): Promise<boolean> {
    return await this.client.exists(this.userKeys(userKey).base + sessionId) === 1
  }

  async endSessions (userKey: string, scope: EndScope, sessionId = ''): Promise<EndResult> {
    const k = this.userKeys(userKey)
    return endResult(await this.client.otpLoginSessionEnd(k.index, k.base, scope, sessionId, this.endedChannel))
  }

  async listSessions (userKey: string): Promise<SessionInfo[]> {
    const k = this.userKeys(userKey)
    const flat = await this.client.otpLoginSessionList(k.index, k.base)
    const now = Date.now()
    const sessions: SessionInfo[] = []
    for (let i = 0; i + 4 < flat.length; i += 5) {
      sessions.push({
        id: String(flat[i]),
        createdAt: Number(flat[i + 1]),
        lastUsedAt: Number(flat[i + 2]),
        expiresAt: now + Number(flat[i + 3]),
        amr: String(flat[i + 4])
      })
    }
    return sessions
  }
}
