import type { CompiledQuery } from 'kysely'
import { dialectOf, migrate, tableNames, type Columns, type Db, type Dialect, type TableNames } from './sql-schema.js'
import type { CredentialStore, PasskeyIdentity, PasskeyRecord, TotpRecord, TotpState } from './types.js'

export interface SqlCredentialStoreOptions {
  /** Prefix of the table names; default `'otp_'` (tables `otp_totp`, `otp_recovery_codes`, `otp_passkeys`, `otp_credential_versions`). */
  tablePrefix?: string
  /** The clock that decides whether a pending setup has expired, for tests; default `Date.now`. */
  now?: () => number
}

/**
 * A host's Kysely instance, whatever its database type: the store builds every statement with its builders. A
 * shape, not kysely's class, so that it takes an instance from kysely's ESM or CommonJS build alike and the
 * package's types do not need kysely installed.
 */
export type SqlCredentialStoreDb = Record<'schema' | 'selectFrom' | 'insertInto' | 'updateTable' | 'deleteFrom' | 'transaction' | 'executeQuery', object>

type Row = { [K in keyof Columns | 'left']?: unknown }

/** Stand-ins for `get`'s parameters when its statement is compiled once. */
const ownerMarker = '\u0000owner'
const nowMarker = -0.5

const num = (value: unknown): number => Number(value)
const affected = (n: bigint | undefined): boolean => n !== undefined && n > 0n

function toPasskey (row: Row): PasskeyRecord {
  return {
    id: String(row.id),
    publicKey: String(row.public_key),
    counter: num(row.counter),
    transports: JSON.parse(String(row.transports)) as string[],
    name: String(row.name),
    createdAt: num(row.created_at),
    lastUsedAt: row.last_used_at === null || row.last_used_at === undefined ? null : num(row.last_used_at),
    backedUp: num(row.backed_up) === 1,
    identity: { kind: row.identity_kind as PasskeyIdentity['kind'], value: String(row.identity_value) }
  }
}

const passkeyColumns = ['id', 'owner', 'public_key', 'counter', 'transports', 'name', 'created_at', 'last_used_at', 'backed_up', 'identity_kind', 'identity_value'] as const

/**
 * Keeps credentials in a SQL database through the host's Kysely instance (PostgreSQL, SQLite or MySQL): durable
 * wherever the database is. Call `await store.migrate()` once at start. Every method is one atomic step: a
 * conditional `UPDATE … WHERE` or `DELETE … WHERE` whose affected rows decide, an insert that a key refuses, or a
 * short transaction that first locks the authenticator's row. Times are BIGINT milliseconds.
 */
export class SqlCredentialStore implements CredentialStore {
  private readonly db: Db
  private readonly t: TableNames
  private readonly now: () => number
  private readonly dialect: Dialect

  constructor (db: SqlCredentialStoreDb, { tablePrefix = 'otp_', now = Date.now }: SqlCredentialStoreOptions = {}) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,30}$/.test(tablePrefix)) throw new TypeError('SqlCredentialStore: tablePrefix must be letters, digits and _')
    this.db = db as unknown as Db
    this.t = tableNames(tablePrefix)
    this.now = now
    this.dialect = dialectOf(this.db)
  }

  /** Creates or upgrades the tables (idempotent): call once at start, before the plugin uses the store. */
  async migrate (): Promise<void> {
    await migrate(this.db, this.t, this.dialect)
  }

  /** Inserts that a unique key refuses change nothing (and count 0). */
  private insert (db: Db, table: string, values: Row | Row[]): { execute: () => Promise<Array<{ numInsertedOrUpdatedRows?: bigint }>> } {
    const query = db.insertInto(table).values(values as never)
    return this.dialect === 'mysql' ? query.ignore() : query.onConflict((oc) => oc.doNothing())
  }

  private async inserted (db: Db, table: string, values: Row | Row[]): Promise<boolean> {
    const [result] = await this.insert(db, table, values).execute()
    return affected(result?.numInsertedOrUpdatedRows)
  }

  /** Locks the owner's authenticator row for this transaction if TOTP is on: whether it is. */
  private async lockOn (trx: Db, owner: string): Promise<boolean> {
    const result = await trx.updateTable(this.t.totp).set({ enabled: 1 }).where('owner', '=', owner).where('enabled', '=', 1).executeTakeFirst()
    return affected(result.numUpdatedRows)
  }

  /** `get`'s statement, built and compiled once: every sign-in reads it, and building costs more than running. */
  private readonly getQuery = (owner: string, now: number) => this.db.selectFrom(this.t.totp).select((eb) => [
    'secret', 'enabled',
    eb.selectFrom(this.t.recovery).select(eb.fn.countAll().as('n')).where('owner', '=', owner).as('left')
  ]).where('owner', '=', owner).where((eb) => eb.or([eb('enabled', '=', 1), eb('expires_at', '>', now)]))

  private compiledGet?: { query: CompiledQuery<Row>, parameters: Array<(owner: string, now: number) => unknown> }

  async get (owner: string): Promise<TotpRecord | undefined> {
    // Compiled once with markers in place of the owner and the time, then run with each call's values in their places.
    this.compiledGet ??= ((query) => ({
      query,
      parameters: query.parameters.map((p) => p === ownerMarker ? (o: string) => o : p === nowMarker ? (_: string, n: number) => n : () => p)
    }))(this.getQuery(ownerMarker, nowMarker).compile())
    const { query, parameters } = this.compiledGet
    const now = this.now()
    const [row] = (await this.db.executeQuery<Row>({ ...query, parameters: parameters.map((value) => value(owner, now)) })).rows
    if (row === undefined) return undefined
    const enabled = num(row.enabled) === 1
    return { secret: String(row.secret), enabled, recoveryCodesLeft: enabled ? num(row.left) : 0 }
  }

  async savePending (owner: string, secret: string, ttlMs: number): Promise<boolean> {
    const values = { secret, enabled: 0, last_step: -1, expires_at: this.now() + ttlMs }
    // A pending (or expired) setup is restarted in place; else a new row, unless one came meanwhile: look again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const updated = await this.db.updateTable(this.t.totp).set(values).where('owner', '=', owner).where('enabled', '=', 0).executeTakeFirst()
      if (affected(updated.numUpdatedRows)) return true
      if (await this.inserted(this.db, this.t.totp, { owner, ...values })) return true
      const on = await this.db.selectFrom(this.t.totp).select('enabled').where('owner', '=', owner).executeTakeFirst()
      if (on !== undefined && num(on.enabled) === 1) return false
    }
    return false
  }

  async enable (owner: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean> {
    return await this.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable(this.t.totp).set({ enabled: 1, last_step: step, expires_at: null })
        .where('owner', '=', owner).where('enabled', '=', 0).where('secret', '=', secret).where('expires_at', '>', this.now())
        .executeTakeFirst()
      if (!affected(result.numUpdatedRows)) return false
      await this.replaceHashes(trx, owner, recoveryHashes)
      return true
    })
  }

  /** Within a transaction that holds the authenticator's row: the owner's recovery hashes become `hashes`. */
  private async replaceHashes (trx: Db, owner: string, hashes: readonly string[]): Promise<void> {
    await trx.deleteFrom(this.t.recovery).where('owner', '=', owner).execute()
    const unique = [...new Set(hashes)]
    if (unique.length > 0) await this.insert(trx, this.t.recovery, unique.map((hash) => ({ owner, hash }))).execute()
  }

  async useStep (owner: string, step: number): Promise<boolean> {
    const result = await this.db.updateTable(this.t.totp).set({ last_step: step })
      .where('owner', '=', owner).where('enabled', '=', 1).where('last_step', '<', step).executeTakeFirst()
    return affected(result.numUpdatedRows)
  }

  async useRecoveryCode (owner: string, hash: string): Promise<boolean> {
    const result = await this.db.deleteFrom(this.t.recovery).where('owner', '=', owner).where('hash', '=', hash)
      .where((eb) => eb.exists(eb.selectFrom(this.t.totp).select('owner').where('owner', '=', owner).where('enabled', '=', 1)))
      .executeTakeFirst()
    return affected(result.numDeletedRows)
  }

  async restoreRecoveryCode (owner: string, hash: string): Promise<boolean> {
    return await this.db.transaction().execute(async (trx) =>
      await this.lockOn(trx, owner) && await this.inserted(trx, this.t.recovery, { owner, hash }))
  }

  async replaceRecoveryCodes (owner: string, hashes: readonly string[]): Promise<string[] | undefined> {
    return await this.db.transaction().execute(async (trx) => {
      if (!await this.lockOn(trx, owner)) return undefined
      const old = await this.takeHashes(trx, owner)
      await this.replaceHashes(trx, owner, hashes)
      return old
    })
  }

  /** Deletes the owner's recovery hashes: which they were. */
  private async takeHashes (trx: Db, owner: string): Promise<string[]> {
    const query = trx.deleteFrom(this.t.recovery).where('owner', '=', owner)
    if (this.dialect === 'mysql') {
      const rows = await trx.selectFrom(this.t.recovery).select('hash').where('owner', '=', owner).forUpdate().execute()
      await query.execute()
      return rows.map((row) => String(row.hash))
    }
    return (await query.returning('hash').execute()).map((row) => String(row.hash))
  }

  async replaceSecret (owner: string, from: string, to: string): Promise<boolean> {
    const result = await this.db.updateTable(this.t.totp).set({ secret: to }).where('owner', '=', owner).where('secret', '=', from)
      .where((eb) => eb.or([eb('enabled', '=', 1), eb('expires_at', '>', this.now())])).executeTakeFirst()
    return affected(result.numUpdatedRows)
  }

  async disable (owner: string): Promise<TotpState | undefined> {
    return await this.db.transaction().execute(async (trx) => {
      const query = trx.deleteFrom(this.t.totp).where('owner', '=', owner)
      let row: Row | undefined
      if (this.dialect === 'mysql') {
        row = await trx.selectFrom(this.t.totp).selectAll().where('owner', '=', owner).forUpdate().executeTakeFirst()
        await query.execute()
      } else {
        row = await query.returningAll().executeTakeFirst()
      }
      const recoveryHashes = await this.takeHashes(trx, owner)
      if (row === undefined) return undefined
      const enabled = num(row.enabled) === 1
      if (!enabled && num(row.expires_at) <= this.now()) return undefined // it had expired: nothing was there
      return {
        secret: String(row.secret),
        enabled,
        lastStep: num(row.last_step),
        recoveryHashes: enabled ? recoveryHashes : [],
        ...(enabled ? {} : { expiresAt: num(row.expires_at) })
      }
    })
  }

  async restoreTotp (owner: string, state: TotpState): Promise<boolean> {
    const expiresAt = state.enabled ? null : state.expiresAt ?? 0
    if (expiresAt !== null && expiresAt <= this.now()) return false
    return await this.db.transaction().execute(async (trx) => {
      // An expired setup counts as none: clear it, then the key refuses the insert if anything is there.
      await trx.deleteFrom(this.t.totp).where('owner', '=', owner).where('enabled', '=', 0).where('expires_at', '<=', this.now()).execute()
      const row = { owner, secret: state.secret, enabled: state.enabled ? 1 : 0, last_step: state.lastStep, expires_at: expiresAt }
      if (!await this.inserted(trx, this.t.totp, row)) return false
      await this.replaceHashes(trx, owner, state.enabled ? state.recoveryHashes : [])
      return true
    })
  }

  async addPasskey (owner: string, passkey: PasskeyRecord): Promise<boolean> {
    return await this.inserted(this.db, this.t.passkeys, {
      id: passkey.id,
      owner,
      public_key: passkey.publicKey,
      counter: passkey.counter,
      transports: JSON.stringify(passkey.transports),
      name: passkey.name,
      created_at: passkey.createdAt,
      last_used_at: passkey.lastUsedAt,
      backed_up: passkey.backedUp ? 1 : 0,
      identity_kind: passkey.identity.kind,
      identity_value: passkey.identity.value
    })
  }

  async listPasskeys (owner: string): Promise<PasskeyRecord[]> {
    const rows = await this.db.selectFrom(this.t.passkeys).select(passkeyColumns).where('owner', '=', owner)
      .orderBy('created_at').orderBy('id').execute()
    return rows.map(toPasskey)
  }

  async findPasskey (id: string): Promise<{ owner: string, passkey: PasskeyRecord } | undefined> {
    const row = await this.db.selectFrom(this.t.passkeys).select(passkeyColumns).where('id', '=', id).executeTakeFirst()
    return row && { owner: String(row.owner), passkey: toPasskey(row) }
  }

  async usePasskey (id: string, counter: number, usedAt: number): Promise<'used' | 'counter-went-back' | 'unknown'> {
    // The counter rule is in the WHERE: of two sign-ins with the same counter, one changes the row.
    const result = await this.db.updateTable(this.t.passkeys).set({ counter, last_used_at: usedAt }).where('id', '=', id)
      .where(counter === 0 ? (eb) => eb('counter', '=', 0) : (eb) => eb('counter', '<', counter)).executeTakeFirst()
    if (affected(result.numUpdatedRows)) return 'used'
    const row = await this.db.selectFrom(this.t.passkeys).select('id').where('id', '=', id).executeTakeFirst()
    return row === undefined ? 'unknown' : 'counter-went-back'
  }

  async renamePasskey (owner: string, id: string, name: string): Promise<boolean> {
    const result = await this.db.updateTable(this.t.passkeys).set({ name }).where('id', '=', id).where('owner', '=', owner).executeTakeFirst()
    return affected(result.numUpdatedRows)
  }

  async removePasskey (owner: string, id: string): Promise<PasskeyRecord | undefined> {
    const query = (db: Db) => db.deleteFrom(this.t.passkeys).where('id', '=', id).where('owner', '=', owner)
    if (this.dialect !== 'mysql') {
      const row = await query(this.db).returning(passkeyColumns).executeTakeFirst()
      return row && toPasskey(row)
    }
    return await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom(this.t.passkeys).select(passkeyColumns).where('id', '=', id).where('owner', '=', owner).forUpdate().executeTakeFirst()
      await query(trx).execute()
      return row && toPasskey(row)
    })
  }

  async rebindPasskeys (owner: string, identity: PasskeyIdentity): Promise<number> {
    const result = await this.db.updateTable(this.t.passkeys).set({ identity_kind: identity.kind, identity_value: identity.value })
      .where('owner', '=', owner).executeTakeFirst()
    return num(result.numUpdatedRows)
  }
}
