// The tables of SqlCredentialStore and their migrations. Only types come from 'kysely': every statement is built
// by the host's own Kysely instance, so the package never loads kysely itself.
import type { ColumnType, Kysely } from 'kysely'

/** A column that inserts may leave out (its default or NULL). */
type Col<S> = ColumnType<S, S | undefined, S>
/** BIGINT: node-postgres reads it as a string, SQLite and mysql2 as a number. */
type Big = Col<number | string>

/** Every column of every table (the names carry the host's prefix, so any string names a table). */
export interface Columns {
  version: Col<number>
  applied_at: Big
  owner: Col<string>
  secret: Col<string>
  /** 0 while pending, 1 once on (an integer: SQLite and MySQL have no boolean). */
  enabled: Col<number>
  last_step: Big
  /** Milliseconds since the epoch; NULL once enabled. */
  expires_at: Col<number | string | null>
  hash: Col<string>
  id: Col<string>
  public_key: Col<string>
  counter: Big
  /** JSON array of strings. */
  transports: Col<string>
  name: Col<string>
  created_at: Big
  last_used_at: Col<number | string | null>
  backed_up: Col<number>
  identity_kind: Col<string>
  identity_value: Col<string>
}

export type Db = Kysely<Record<string, Columns>>

export type Dialect = 'postgres' | 'mysql' | 'sqlite' | 'other'

/** Tells the dialect from how the instance compiles a query: quotes and placeholders differ. */
export function dialectOf (db: Db): Dialect {
  const text = db.selectFrom('t').select('id').where('id', '=', 'x').compile().sql
  if (text.includes('$1')) return 'postgres'
  if (text.includes('`')) return 'mysql'
  if (text.includes('"t"') && text.includes('?')) return 'sqlite'
  return 'other'
}

export interface TableNames {
  versions: string
  totp: string
  recovery: string
  passkeys: string
}

export const tableNames = (prefix: string): TableNames => ({
  versions: `${prefix}credential_versions`,
  totp: `${prefix}totp`,
  recovery: `${prefix}recovery_codes`,
  passkeys: `${prefix}passkeys`
})

// Lengths: owners are `user:<id>` or an identifier (an e-mail address is at most 254); a credential id is
// base64url of at most 1023 bytes, but MySQL keys stop at 3072 bytes (768 utf8mb4 characters), and real ones
// are far shorter. The plugin checks lengths before it gets here.
const ownerType = 'varchar(320)'
const idType = 'varchar(700)'

const alreadyThere = (code: string) => (error: unknown): void => {
  if ((error as { code?: unknown } | null)?.code !== code) throw error
}

/** One step of the schema; applied once, in order, and recorded in the versions table. */
const migrations: Array<(db: Db, t: TableNames, dialect: Dialect) => Promise<void>> = [
  async (db, t, dialect) => {
    await db.schema.createTable(t.totp).ifNotExists()
      .addColumn('owner', ownerType, (c) => c.primaryKey())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('last_step', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .execute()
    await db.schema.createTable(t.recovery).ifNotExists()
      .addColumn('owner', ownerType, (c) => c.notNull())
      .addColumn('hash', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${t.recovery}_pk`, ['owner', 'hash'])
      .execute()
    await db.schema.createTable(t.passkeys).ifNotExists()
      .addColumn('id', idType, (c) => c.primaryKey())
      .addColumn('owner', ownerType, (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addColumn('transports', 'text', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('backed_up', 'integer', (c) => c.notNull())
      .addColumn('identity_kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('identity_value', ownerType, (c) => c.notNull())
      .execute()
    const index = db.schema.createIndex(`${t.passkeys}_owner`).on(t.passkeys).columns(['owner', 'created_at'])
    if (dialect !== 'mysql') await index.ifNotExists().execute()
    else await index.execute().catch(alreadyThere('ER_DUP_KEYNAME')) // MySQL has no CREATE INDEX IF NOT EXISTS
  }
]

/** The schema version this code writes and reads. */
export const schemaVersion = migrations.length

/**
 * Creates or upgrades the tables: idempotent, and safe when two processes start at once (every step is
 * `IF NOT EXISTS`, and a version is recorded once). Answers the version it found.
 */
export async function migrate (db: Db, t: TableNames, dialect: Dialect): Promise<number> {
  await db.schema.createTable(t.versions).ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('applied_at', 'bigint', (c) => c.notNull())
    .execute()
  const row = await db.selectFrom(t.versions).select((eb) => eb.fn.max('version').as('v')).executeTakeFirst()
  const found = Number(row?.v ?? 0)
  if (found > schemaVersion) {
    throw new Error(`SqlCredentialStore: the tables are at version ${found}, newer than this package knows (${schemaVersion}); upgrade fastify-otp-login`)
  }
  for (const [index, step] of migrations.entries()) {
    const version = index + 1
    if (version <= found) continue
    await step(db, t, dialect)
    const insert = db.insertInto(t.versions).values({ version, applied_at: Date.now() })
    await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.doNothing())).execute()
  }
  return found
}
