import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { freePort } from './redis.js'

const run = promisify(execFile)
const stopAll = new Set<() => void>()
process.on('exit', () => { for (const stop of stopAll) stop() })

/** initdb refuses root: as root, PostgreSQL's programs run as `nobody`. */
const command = (root: boolean, file: string, args: string[]): [string, string[]] =>
  root ? ['runuser', ['-u', 'nobody', '--', file, ...args]] : [file, args]

interface TestDeps { findPostgresBin: (pathEnv: string | undefined) => string | undefined }

/** initdb and pg_ctl, found as `npm test`'s pretest finds them (PATH, else Debian's /usr/lib/postgresql/<v>/bin). */
async function postgresBin (): Promise<string> {
  // scripts/ of the repository, from test/helpers or from the bench's compiled copy (bench/tmp/js/test/helpers).
  let root = __dirname
  while (!existsSync(join(root, 'scripts', 'test-deps.mjs')) && dirname(root) !== root) root = dirname(root)
  const { findPostgresBin } = await import(pathToFileURL(join(root, 'scripts', 'test-deps.mjs')).href) as TestDeps
  const bin = findPostgresBin(process.env.PATH)
  if (bin === undefined) throw new Error('PostgreSQL\'s initdb and pg_ctl are missing: `npm test` installs Debian\'s postgresql (as root), or install it yourself')
  return bin
}

/**
 * A throwaway PostgreSQL server for one test file: a fresh cluster in a temp dir, listening only on 127.0.0.1
 * on a free port (never 5432), its socket in the temp dir, no fsync. initdb refuses root, so as root the cluster
 * belongs to `nobody`. `stop()` ends it and removes the directory (also at process exit, if a test crashed).
 */
export class PostgresServer {
  private readonly pools = new Set<Kysely<unknown>>()
  private databases = 0

  private constructor (readonly port: number, readonly dir: string, private readonly bin: string, private readonly root: boolean) {}

  static async start (): Promise<PostgresServer> {
    const bin = await postgresBin()
    const dir = mkdtempSync(join(tmpdir(), 'otp-pg-'))
    const root = process.getuid?.() === 0
    if (root) chownSync(dir, 65534, 65534)
    const sh = async (file: string, args: string[]): Promise<void> => {
      await run(...command(root, file, args), { cwd: dir })
    }
    try {
      await sh(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
      for (let attempt = 0; attempt < 5; attempt++) {
        const server = new PostgresServer(await freePort(), dir, bin, root)
        const options = `-p ${server.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`
        try {
          await sh(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start'])
        } catch {
          continue // most likely the port was taken meanwhile
        }
        stopAll.add(server.stopNow)
        return server
      }
      throw new Error(`could not start PostgreSQL on a free port (log: ${join(dir, 'log')})`)
    } catch (error) {
      rmSync(dir, { recursive: true, force: true })
      throw error
    }
  }

  private readonly stopNow = (): void => {
    stopAll.delete(this.stopNow)
    const [file, args] = command(this.root, join(this.bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'])
    try {
      execFileSync(file, args, { stdio: 'ignore' })
    } catch {}
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** A Kysely instance on a database of its own, created for the caller (closed by `stop()`). */
  async kysely (): Promise<Kysely<unknown>> {
    const name = `test${++this.databases}`
    const admin = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres' })
    await admin.connect()
    try {
      await admin.query(`CREATE DATABASE ${name}`)
    } finally {
      await admin.end()
    }
    const pool = new pg.Pool({ host: '127.0.0.1', port: this.port, user: 'postgres', database: name, max: 10 })
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
    this.pools.add(db)
    return db
  }

  async stop (): Promise<void> {
    for (const db of this.pools) await db.destroy()
    this.pools.clear()
    this.stopNow()
  }
}
