import { once } from 'node:events'
import t, { type Test } from 'tap'
import { CredentialDataLostError, RedisCredentialStore, type CredentialStore, type PasskeyRecord } from '../lib/index.js'
import { RedisServer } from './helpers/redis.js'

/** A throwaway redis-server with these settings (the helper's defaults: no AOF, no RDB), stopped at the end. */
async function server (t: Test, args: string[] = []): Promise<RedisServer> {
  const started = await RedisServer.start({ args })
  t.teardown(async () => { await started.stop() })
  return started
}

function recorder (): { warn: (message: string) => void, warnings: string[] } {
  const warnings: string[] = []
  return { warn: (message) => { warnings.push(message) }, warnings }
}

const persistent = ['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']

const passkey: PasskeyRecord = {
  id: 'cred-1',
  publicKey: 'pk',
  counter: 1,
  transports: ['internal'],
  name: 'Phone',
  createdAt: 1,
  lastUsedAt: null,
  backedUp: false,
  identity: { kind: 'email', value: 'ana@example.com' }
}

async function enrol (store: CredentialStore, owner: string): Promise<void> {
  await store.savePending(owner, 's', 60_000)
  await store.enable(owner, 's', ['h1'], 1)
  await store.addPasskey(owner, { ...passkey, id: `cred-${owner}` })
}

/** Every method that reads or conditionally writes an owner's credentials: each must throw after a loss. */
function everyCall (store: CredentialStore, owner: string): Array<[string, () => Promise<unknown>]> {
  const id = `cred-${owner}`
  return [
    ['get', async () => await store.get(owner)],
    ['listPasskeys', async () => await store.listPasskeys(owner)],
    ['findPasskey', async () => await store.findPasskey(id)],
    ['savePending', async () => await store.savePending(owner, 's', 1000)],
    ['enable', async () => await store.enable(owner, 's', [], 2)],
    ['useStep', async () => await store.useStep(owner, 2)],
    ['useRecoveryCode', async () => await store.useRecoveryCode(owner, 'h1')],
    ['restoreRecoveryCode', async () => await store.restoreRecoveryCode(owner, 'h1')],
    ['replaceRecoveryCodes', async () => await store.replaceRecoveryCodes(owner, ['n'])],
    ['replaceSecret', async () => await store.replaceSecret(owner, 's', 't')],
    ['disable', async () => await store.disable(owner)],
    ['restoreTotp', async () => await store.restoreTotp(owner, { secret: 's', enabled: true, lastStep: 1, recoveryHashes: [] })],
    ['addPasskey', async () => await store.addPasskey(owner, { ...passkey, id: 'cred-new' })],
    ['usePasskey', async () => await store.usePasskey(id, 5, 2)],
    ['renamePasskey', async () => await store.renamePasskey(owner, id, 'x')],
    ['removePasskey', async () => await store.removePasskey(owner, id)],
    ['rebindPasskeys', async () => await store.rebindPasskeys(owner, { kind: 'phone', value: '+15551234567' })]
  ]
}

t.test('init refuses a Redis with neither AOF nor RDB snapshots, naming the setting', async (t) => {
  const client = await (await server(t)).client()
  const log = recorder()
  await t.rejects(new RedisCredentialStore(client).init(log), /neither AOF nor RDB snapshots.*`appendonly yes`.*`save`/)
  t.same(await client.keys('*'), [], 'no marker written')
  t.same(log.warnings, [])
})

t.test('init refuses an allkeys-* eviction policy, naming it and the fix', async (t) => {
  const client = await (await server(t, ['--appendonly', 'yes', '--maxmemory-policy', 'allkeys-lru'])).client()
  await t.rejects(new RedisCredentialStore(client).init(recorder()), /maxmemory-policy allkeys-lru.*`maxmemory-policy noeviction`.*volatile-/)
})

t.test('init accepts AOF or an RDB schedule with noeviction or volatile-*, silently, and writes the marker', async (t) => {
  for (const args of [persistent, ['--save', '3600 1', '--maxmemory-policy', 'volatile-lru']]) {
    const client = await (await server(t, args)).client()
    const log = recorder()
    await new RedisCredentialStore(client, { keyPrefix: 'app1:' }).init(log)
    t.same(log.warnings, [], args.join(' '))
    t.same(await client.keys('*'), ['app1:credentials-marker'])
    t.equal(await client.pttl('app1:credentials-marker'), -1, 'the marker never expires')
  }
})

t.test('acceptDataLoss: registers with one warning that says what is at risk', async (t) => {
  const client = await (await server(t, ['--maxmemory-policy', 'allkeys-lru'])).client()
  const log = recorder()
  const store = new RedisCredentialStore(client, { acceptDataLoss: true })
  await store.init(log)
  t.equal(log.warnings.length, 1)
  t.match(log.warnings[0], /neither AOF nor RDB.*allkeys-lru.*acceptDataLoss/)
  await enrol(store, 'user:1')
  t.match(await store.get('user:1'), { enabled: true })
})

t.test('CONFIG refused (renamed, as on managed Redis): one warning, and it registers', async (t) => {
  const client = await (await server(t, ['--rename-command', 'CONFIG', '""'])).client()
  const log = recorder()
  const store = new RedisCredentialStore(client)
  await store.init(log)
  t.equal(log.warnings.length, 1)
  t.match(log.warnings[0], /could not read the Redis settings.*persists data/)
  await enrol(store, 'user:1')
  t.match(await store.get('user:1'), { enabled: true })
})

t.test('after FLUSHALL every credential call throws: lost data is never read as "nothing there"', async (t) => {
  const client = await (await server(t, persistent)).client()
  const store = new RedisCredentialStore(client)
  await store.init(recorder())
  await enrol(store, 'user:1')
  await client.flushall()
  for (const [name, call] of everyCall(store, 'user:1')) {
    await t.rejects(call(), CredentialDataLostError, name)
  }
  await t.rejects(store.get('user:2'), /credential marker missing: Redis lost its data \(restart without persistence, FLUSHALL or eviction\)/,
    'an owner who never enrolled too: the store cannot tell them apart')
  t.same(await client.keys('*'), [], 'and none of them wrote anything')
})

t.test('a marker evicted alone is a loss too', async (t) => {
  const client = await (await server(t, persistent)).client()
  const store = new RedisCredentialStore(client)
  await store.init(recorder())
  await enrol(store, 'user:1')
  await client.del('otp:credentials-marker')
  await t.rejects(store.get('user:1'), CredentialDataLostError)
})

t.test('a redis-server restarted without persistence: reads throw', async (t) => {
  const redis = await server(t)
  const client = await redis.client()
  const store = new RedisCredentialStore(client, { acceptDataLoss: true })
  await store.init(recorder())
  await enrol(store, 'user:1')
  t.match(await store.get('user:1'), { enabled: true })
  await redis.kill()
  t.ok(await redis.spawn(), 'restarted on its port')
  if (client.status !== 'ready') await once(client, 'ready')
  await t.rejects(store.get('user:1'), CredentialDataLostError)
  await t.rejects(store.listPasskeys('user:1'), CredentialDataLostError)
  await t.rejects(store.findPasskey('cred-user:1'), CredentialDataLostError)
  await store.init(recorder())
  t.equal(await store.get('user:1'), undefined, 'a new init accepts the loss (why init refuses such a Redis)')
})
