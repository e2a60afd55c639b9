import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import t from 'tap'

// scripts/test-deps.mjs, which `npm test` runs first: its decisions, without running apt-get.
interface Machine {
  redisServer: boolean
  postgres: boolean
  chromium: boolean
  chromiumPath: string
  customChromium: boolean
  root: boolean
  aptGet: boolean
}
type Decision = { action: 'none' } | { action: 'install', packages: string[] } | { action: 'stop', message: string }
interface TestDeps {
  decide: (machine: Machine) => Decision
  installCommands: (packages: string[]) => Array<[string, string[]]>
  findOnPath: (name: string, pathEnv: string | undefined) => string | undefined
  findPostgresBin: (pathEnv: string | undefined, libDir?: string) => string | undefined
}

const load = async (): Promise<TestDeps> => {
  const scriptPath = '../scripts/test-deps.mjs' // a plain .mjs file: no types to resolve
  return await import(scriptPath) as TestDeps
}

const debian: Machine = {
  redisServer: true, postgres: true, chromium: true, chromiumPath: '/usr/bin/chromium', customChromium: false, root: false, aptGet: true
}

t.test('both present: nothing to do, whoever runs it', async (t) => {
  const { decide } = await load()
  t.same(decide(debian), { action: 'none' })
  t.same(decide({ ...debian, root: true }), { action: 'none' })
  t.same(decide({ ...debian, aptGet: false }), { action: 'none' })
})

t.test('missing, as root with apt-get: installs only what is missing', async (t) => {
  const { decide } = await load()
  t.same(decide({ ...debian, root: true, redisServer: false }), { action: 'install', packages: ['redis-server'] })
  t.same(decide({ ...debian, root: true, chromium: false }), { action: 'install', packages: ['chromium'] })
  t.same(decide({ ...debian, root: true, redisServer: false, chromium: false }), { action: 'install', packages: ['redis-server', 'chromium'] })
})

t.test('missing, not root: stops with the one command that installs what is missing', async (t) => {
  const { decide } = await load()
  const both = decide({ ...debian, redisServer: false, chromium: false })
  t.equal(both.action, 'stop')
  t.match(both, { message: /sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server chromium\n/ })
  const one = decide({ ...debian, chromium: false })
  t.match(one, { action: 'stop', message: /--no-install-recommends chromium\n/ })
  t.notMatch(one, { message: /redis-server/ })
})

t.test('missing, without apt-get: stops and says what to install, even as root', async (t) => {
  const { decide } = await load()
  const decision = decide({ ...debian, root: true, aptGet: false, redisServer: false })
  t.match(decision, { action: 'stop', message: /redis-server/ })
  t.notMatch(decision, { message: /apt-get install/ })
})

t.test('a CHROMIUM_PATH that is not there is the user\'s to fix: no install puts a browser there', async (t) => {
  const { decide } = await load()
  const custom = { ...debian, root: true, chromium: false, customChromium: true, chromiumPath: '/opt/chrome/chrome' }
  t.match(decide(custom), { action: 'stop', message: /CHROMIUM_PATH is "\/opt\/chrome\/chrome"/ })
  // Set to the default path, it is Debian's chromium after all.
  t.same(decide({ ...custom, chromiumPath: '/usr/bin/chromium' }), { action: 'install', packages: ['chromium'] })
})

t.test('the install is .ci/run\'s: apt-get update once, no recommends, the redis service stopped', async (t) => {
  const { installCommands } = await load()
  t.same(installCommands(['redis-server', 'chromium']), [
    ['apt-get', ['update', '-qq']],
    ['apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server', 'chromium']],
    ['service', ['redis-server', 'stop']]
  ])
  t.same(installCommands(['chromium']).map(([file]) => file), ['apt-get', 'apt-get'], 'no service to stop without redis-server')
})

t.test('findOnPath finds executables as command -v does', async (t) => {
  const { findOnPath } = await load()
  const dir = mkdtempSync(join(tmpdir(), 'test-deps-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const tool = join(dir, 'some-tool')
  writeFileSync(tool, '#!/bin/sh\n')
  chmodSync(tool, 0o644)
  t.equal(findOnPath('some-tool', dir), undefined, 'not executable: not found')
  chmodSync(tool, 0o755)
  t.equal(findOnPath('some-tool', ['', '/nonexistent', dir].join(delimiter)), tool)
  t.equal(findOnPath('some-tool', undefined), undefined)
})

t.test('PostgreSQL missing, as root with apt-get: installs Debian\'s postgresql and stops its own cluster', async (t) => {
  const { decide, installCommands } = await load()
  t.same(decide({ ...debian, root: true, postgres: false }), { action: 'install', packages: ['postgresql'] })
  t.same(decide({ ...debian, root: true, postgres: false, redisServer: false }), { action: 'install', packages: ['redis-server', 'postgresql'] })
  t.match(decide({ ...debian, postgres: false }), { action: 'stop', message: /--no-install-recommends postgresql\n/ })
  t.match(decide({ ...debian, aptGet: false, postgres: false }), { action: 'stop', message: /PostgreSQL/ })
  // The tests start their own servers on free ports; the cluster Debian's package starts on 5432 is not needed.
  t.same(installCommands(['postgresql']), [
    ['apt-get', ['update', '-qq']],
    ['apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql']],
    ['service', ['postgresql', 'stop']]
  ])
})

t.test('findPostgresBin: initdb and pg_ctl on the PATH, else Debian\'s newest /usr/lib/postgresql/<version>/bin', async (t) => {
  const { findPostgresBin } = await load()
  const dir = mkdtempSync(join(tmpdir(), 'test-deps-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const tool = (path: string): void => {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, '#!/bin/sh\n')
    chmodSync(path, 0o755)
  }
  const lib = join(dir, 'lib')
  t.equal(findPostgresBin('', lib), undefined, 'no lib directory, nothing on the PATH')
  tool(join(lib, '15', 'bin', 'initdb'))
  t.equal(findPostgresBin('', lib), undefined, 'initdb without pg_ctl is not enough')
  tool(join(lib, '15', 'bin', 'pg_ctl'))
  t.equal(findPostgresBin('', lib), join(lib, '15', 'bin'))
  tool(join(lib, '9', 'bin', 'initdb'))
  tool(join(lib, '9', 'bin', 'pg_ctl'))
  tool(join(lib, '17', 'bin', 'initdb'))
  tool(join(lib, '17', 'bin', 'pg_ctl'))
  t.equal(findPostgresBin('', lib), join(lib, '17', 'bin'), 'the newest version (numbers, not text order)')
  const path = join(dir, 'path')
  tool(join(path, 'initdb'))
  tool(join(path, 'pg_ctl'))
  t.equal(findPostgresBin(path, lib), path, 'the PATH first')
})
