// Run by `npm test` (pretest) before the build: the tests need redis-server and PostgreSQL's initdb and pg_ctl
// (they start their own servers) and Chromium (test/browser.test.ts drives it through playwright-core, which
// never downloads a browser). All present: nothing to do, at the cost of a few file checks. Missing, as root with apt-get: installs Debian's
// packages as .ci/run does. Missing anywhere else: stops at once with the one command that installs them.
import { execFileSync } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Where test/browser.test.ts looks for Chromium. */
export const defaultChromiumPath = '/usr/bin/chromium'

/** The first executable called `name` on `pathEnv` (a PATH value), as `command -v` finds it, or undefined. */
export function findOnPath (name, pathEnv) {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name)
  }
  return undefined
}

function isExecutable (file) {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Where Debian's postgresql package puts its server programs (one directory per major version). */
export const debianPostgresLib = '/usr/lib/postgresql'

/**
 * The directory with PostgreSQL's `initdb` and `pg_ctl`: on the PATH, else Debian's newest
 * /usr/lib/postgresql/<version>/bin (the package puts only client programs on the PATH). Undefined when none.
 */
export function findPostgresBin (pathEnv, libDir = debianPostgresLib) {
  const initdb = findOnPath('initdb', pathEnv)
  if (initdb !== undefined && findOnPath('pg_ctl', pathEnv) !== undefined) return dirname(initdb)
  let versions = []
  try {
    versions = readdirSync(libDir).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))
  } catch {}
  for (const version of versions) {
    const bin = join(libDir, version, 'bin')
    if (isExecutable(join(bin, 'initdb')) && isExecutable(join(bin, 'pg_ctl'))) return bin
  }
  return undefined
}

/** What this machine has, as far as the decision goes. */
export function inspectMachine (env = process.env) {
  const chromiumPath = env.CHROMIUM_PATH ?? defaultChromiumPath
  return {
    redisServer: findOnPath('redis-server', env.PATH) !== undefined,
    postgres: findPostgresBin(env.PATH) !== undefined,
    chromium: isExecutable(chromiumPath),
    chromiumPath,
    customChromium: env.CHROMIUM_PATH !== undefined,
    root: process.getuid?.() === 0,
    aptGet: findOnPath('apt-get', env.PATH) !== undefined
  }
}

/**
 * What to do, given what the machine has: `{ action: 'none' }`, `{ action: 'install', packages }` (Debian
 * package names) or `{ action: 'stop', message }`.
 */
export function decide (machine) {
  const packages = []
  if (!machine.redisServer) packages.push('redis-server')
  if (!machine.postgres) packages.push('postgresql')
  if (!machine.chromium) {
    // apt-get installs /usr/bin/chromium; a CHROMIUM_PATH elsewhere is the user's to fix.
    if (machine.customChromium && machine.chromiumPath !== defaultChromiumPath) {
      return {
        action: 'stop',
        message: `CHROMIUM_PATH is ${JSON.stringify(machine.chromiumPath)}, which is not an executable file: ` +
          'point it at a Chromium or Chrome binary, or unset it to use Debian\'s chromium at /usr/bin/chromium.'
      }
    }
    packages.push('chromium')
  }
  if (packages.length === 0) return { action: 'none' }
  if (machine.root && machine.aptGet) return { action: 'install', packages }
  const missing = packages.join(' and ')
  if (machine.aptGet) {
    return {
      action: 'stop',
      message: `The tests need ${missing}. Install ${packages.length > 1 ? 'them' : 'it'} with:\n\n` +
        `  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages.join(' ')}\n\n` +
        'then run npm test again.'
    }
  }
  return {
    action: 'stop',
    message: `The tests need ${missing}, and this machine has no apt-get to install them with. Install ` +
      'redis-server (on the PATH), PostgreSQL (initdb and pg_ctl on the PATH) and Chromium or Chrome with your package manager (on macOS: brew install redis postgresql; ' +
      'brew install --cask chromium), set CHROMIUM_PATH to the browser\'s binary, and run npm test again.'
  }
}

/** The commands that install `packages`, in order, as .ci/run runs them: [file, args] pairs. */
export function installCommands (packages) {
  const commands = [
    ['apt-get', ['update', '-qq']],
    // Recommends would add chromium-sandbox (the test runs with --no-sandbox) and more; none are needed.
    ['apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages]]
  ]
  // The tests start their own servers on free ports; the package's own service is not needed.
  if (packages.includes('redis-server')) commands.push(['service', ['redis-server', 'stop']])
  if (packages.includes('postgresql')) commands.push(['service', ['postgresql', 'stop']])
  return commands
}

function main () {
  const decision = decide(inspectMachine())
  if (decision.action === 'none') return
  if (decision.action === 'stop') {
    console.error(`\nnpm test: ${decision.message}\n`)
    process.exit(1)
  }
  console.log(`npm test: installing ${decision.packages.join(' and ')} with apt-get (Debian packages; chromium takes ~25 s)`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const [file, args] of installCommands(decision.packages)) {
    try {
      execFileSync(file, args, { env, stdio: ['ignore', 'ignore', file === 'service' ? 'ignore' : 'inherit'] })
    } catch (err) {
      // Stopping a service that is not running (or a machine without an init system) is not a failure.
      if (file === 'service') continue
      console.error(`\nnpm test: ${file} ${args.join(' ')} failed (${err.message}); the tests cannot run without ${decision.packages.join(' and ')}.\n`)
      process.exit(1)
    }
  }
  const after = decide(inspectMachine())
  if (after.action !== 'none') {
    console.error(`\nnpm test: the install finished, but ${after.action === 'install' ? after.packages.join(' and ') : 'something'} is still missing.\n`)
    process.exit(1)
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
