import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import t, { type Test } from 'tap'
import { SqlCredentialStore, type PasskeyRecord } from '../lib/index.js'
import { manualClock, type TestClock } from './helpers/clock.js'
import { PostgresServer } from './helpers/postgres.js'
import { credentialStoreContract } from './helpers/credential-store-contract.js'

type MakeDb = () => Promise<Kysely<unknown>>

const sqlite: MakeDb = async () => new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) })

let prefixes = 0
/** A store on fresh tables (a prefix of its own), migrated, with the clock that moves it. */
async function makeStore (makeDb: MakeDb, clock: TestClock = manualClock()): Promise<{ store: SqlCredentialStore, clock: TestClock, db: Kysely<unknown> }> {
  const db = await makeDb()
  const store = new SqlCredentialStore(db, { tablePrefix: `t${++prefixes}_`, now: clock.now })
  await store.migrate()
  return { store, clock, db }
}

const passkey = (id: string, createdAt = 1000): PasskeyRecord => ({
  id,
  publicKey: 'pQECAyYgASFYIA',
  counter: 0,
  transports: ['internal', 'hybrid'],
  name: 'Laptop',
  createdAt,
  lastUsedAt: null,
  backedUp: true,
  identity: { kind: 'email', value: 'ana@example.com' }
})

function sqlSuite (t: Test, makeDb: MakeDb): void {
  credentialStoreContract(t, async () => await makeStore(makeDb))

  t.test('migrate is idempotent and records its version', async (t) => {
    const db = await makeDb()
    const store = new SqlCredentialStore(db, { tablePrefix: 'mig_' })
    await store.migrate()
    await store.savePending('user:1', 's', 60_000)
    await store.migrate()
    await new SqlCredentialStore(db, { tablePrefix: 'mig_' }).migrate()
    t.match(await store.get('user:1'), { secret: 's', enabled: false }, 'a second migrate keeps the data')
    const versions = await (db as unknown as Kysely<Record<string, { version: number }>>).selectFrom('mig_credential_versions').select('version').execute()
    t.same(versions.map((row) => Number(row.version)), [1])
  })

  t.test('recovery codes, secrets, disable and restore', async (t) => {
    const { store, clock } = await makeStore(makeDb)
    await store.savePending('user:1', 's1', 60_000)
    t.equal(await store.enable('user:1', 's1', ['h1', 'h2', 'h3'], 10), true)
    t.same(await store.get('user:1'), { secret: 's1', enabled: true, recoveryCodesLeft: 3 })
    t.equal(await store.useRecoveryCode('user:1', 'h1'), true)
    t.equal(await store.useRecoveryCode('user:1', 'h1'), false, 'used once')
    t.equal(await store.restoreRecoveryCode('user:1', 'h1'), true)
    t.equal(await store.restoreRecoveryCode('user:1', 'h1'), false, 'already there')
    t.same((await store.replaceRecoveryCodes('user:1', ['n1', 'n2']))?.sort(), ['h1', 'h2', 'h3'])
    t.equal(await store.useRecoveryCode('user:1', 'h2'), false, 'old codes stop working')
    t.equal(await store.replaceSecret('user:1', 'other', 's2'), false)
    t.equal(await store.replaceSecret('user:1', 's1', 's2'), true)
    t.equal(await store.useStep('user:1', 10), false)
    t.equal(await store.useStep('user:1', 11), true)
    const state = await store.disable('user:1')
    t.same({ ...state, recoveryHashes: state?.recoveryHashes.sort() }, { secret: 's2', enabled: true, lastStep: 11, recoveryHashes: ['n1', 'n2'] })
    t.equal(await store.get('user:1'), undefined)
    t.equal(await store.disable('user:1'), undefined)
    t.equal(await store.replaceRecoveryCodes('user:1', ['x']), undefined, 'TOTP off: nothing changes')
    t.equal(await store.restoreRecoveryCode('user:1', 'n1'), false)
    t.equal(await store.restoreTotp('user:1', state!), true)
    t.equal(await store.restoreTotp('user:1', state!), false, 'only when there is none')
    t.same(await store.get('user:1'), { secret: 's2', enabled: true, recoveryCodesLeft: 2 })
    t.equal(await store.useStep('user:1', 11), false, 'the last step came back too')

    await store.savePending('user:2', 'p', 10_000)
    const pending = await store.disable('user:2')
    t.same(pending, { secret: 'p', enabled: false, lastStep: -1, recoveryHashes: [], expiresAt: clock.now() + 10_000 })
    await clock.advance(10_000)
    t.equal(await store.restoreTotp('user:2', pending!), false, 'an expired setup is not restored')
    await store.savePending('user:3', 'q', 10_000)
    await clock.advance(10_000)
    t.equal(await store.disable('user:3'), undefined, 'an expired setup was nothing')
    t.equal(await store.replaceSecret('user:3', 'q', 'r'), false)
    t.equal(await store.restoreTotp('user:3', { ...pending!, expiresAt: clock.now() + 1 }), true, 'the expired row is no obstacle')
  })

  t.test('passkeys: unique ids, owners, counters, renames, rebinding', async (t) => {
    const { store } = await makeStore(makeDb)
    t.equal(await store.addPasskey('user:1', passkey('b', 2000)), true)
    t.equal(await store.addPasskey('user:1', passkey('a', 1000)), true)
    t.equal(await store.addPasskey('user:2', passkey('a', 3000)), false, 'an id is unique across owners')
    t.same((await store.listPasskeys('user:1')).map((p) => p.id), ['a', 'b'], 'oldest first')
    t.same(await store.findPasskey('a'), { owner: 'user:1', passkey: passkey('a', 1000) })
    t.equal(await store.findPasskey('zz'), undefined)
    t.equal(await store.usePasskey('a', 0, 5000), 'used', 'both 0: an authenticator without a counter')
    t.equal(await store.usePasskey('a', 7, 6000), 'used')
    t.equal(await store.usePasskey('a', 7, 7000), 'counter-went-back')
    t.equal(await store.usePasskey('a', 0, 7000), 'counter-went-back')
    t.equal(await store.usePasskey('zz', 1, 7000), 'unknown')
    t.match(await store.findPasskey('a'), { passkey: { counter: 7, lastUsedAt: 6000 } })
    t.equal(await store.renamePasskey('user:2', 'a', 'Theirs'), false)
    t.equal(await store.renamePasskey('user:1', 'a', 'Phone'), true)
    t.equal(await store.rebindPasskeys('user:1', { kind: 'phone', value: '+15551000001' }), 2)
    t.equal(await store.removePasskey('user:2', 'a'), undefined)
    t.same(await store.removePasskey('user:1', 'a'), { ...passkey('a', 1000), counter: 7, lastUsedAt: 6000, name: 'Phone', identity: { kind: 'phone', value: '+15551000001' } })
    t.equal(await store.removePasskey('user:1', 'a'), undefined)
    t.same((await store.listPasskeys('user:1')).map((p) => p.id), ['b'])
  })

  t.test('in parallel, exactly one of the same step, recovery code or passkey counter wins', async (t) => {
    const { store } = await makeStore(makeDb)
    await store.savePending('user:1', 's', 60_000)
    await store.enable('user:1', 's', ['h1'], 1)
    await store.addPasskey('user:1', passkey('k'))
    const ten = async <T>(f: () => Promise<T>): Promise<T[]> => await Promise.all(Array.from({ length: 10 }, f))
    t.same((await ten(async () => await store.useStep('user:1', 2))).filter(Boolean).length, 1)
    t.same((await ten(async () => await store.useRecoveryCode('user:1', 'h1'))).filter(Boolean).length, 1)
    t.same((await ten(async () => await store.usePasskey('k', 5, 1))).filter((r) => r === 'used').length, 1)
    t.same((await ten(async () => await store.disable('user:1'))).filter(Boolean).length, 1)
  })
}

t.test('SqlCredentialStore on SQLite (better-sqlite3)', async (t) => {
  sqlSuite(t, sqlite)
})

t.test('SqlCredentialStore on PostgreSQL (a server of its own)', async (t) => {
  const server = await PostgresServer.start()
  t.teardown(async () => { await server.stop() })
  const db = await server.kysely()
  sqlSuite(t, async () => db)
})

t.test('the built package never loads kysely (nor a driver): the host brings its own instance', async (t) => {
  for (const file of ['sql.js', 'sql-schema.js']) {
    const code = readFileSync(join(__dirname, '..', 'dist', 'cjs', 'store', 'credentials', file), 'utf8')
    t.notMatch(code, /require\(["'](kysely|pg|better-sqlite3|mysql2)["']\)/, `dist/cjs/store/credentials/${file}`)
  }
})

t.test('a tablePrefix that is not letters, digits and _ is refused: it goes into SQL as a name', async (t) => {
  const db = await sqlite()
  for (const tablePrefix of ['otp"; drop table x; --', 'a b', '1x', 'x'.repeat(32)]) {
    t.throws(() => new SqlCredentialStore(db, { tablePrefix }), { name: 'TypeError' }, JSON.stringify(tablePrefix))
  }
  t.doesNotThrow(() => new SqlCredentialStore(db, { tablePrefix: 'auth_' }))
})
