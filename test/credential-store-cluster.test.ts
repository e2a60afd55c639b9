import t from 'tap'
import { CredentialDataLostError, RedisCredentialStore } from '../lib/index.js'
import { keySlot } from '../lib/store/credentials/redis-marker.js'
import { freshCluster } from './helpers/app.js'
import { credentialStoreContract, quiet, redisCredentialStore } from './helpers/credential-store-contract.js'

t.test('RedisCredentialStore on a Cluster passes the credential store contract', async (t) => {
  credentialStoreContract(t, async () => await redisCredentialStore(await freshCluster()))
})

t.test('keySlot agrees with the Cluster (CLUSTER KEYSLOT), hash tags included', async (t) => {
  const client = await freshCluster()
  for (const key of ['otp:{user:1}:totp', 'otp:{pk:AbC-_9}', 'plain', '{}x', 'a{b}c{d}', 'otp:{m1z}:credentials-marker', 'ünï{cödé}']) {
    t.equal(keySlot(key), await client.cluster('KEYSLOT', key), key)
  }
})

t.test('Cluster: init refuses masters without persistence, naming each', async (t) => {
  const client = await freshCluster()
  // The test cluster keeps its data (AOF, as the plugin's default store requires): turned off here.
  for (const node of client.nodes('master')) await node.config('SET', 'appendonly', 'no')
  t.teardown(async () => { for (const node of client.nodes('master')) await node.config('SET', 'appendonly', 'yes') })
  const error = await new RedisCredentialStore(client).init(quiet).then(() => undefined, (err: Error) => err)
  t.match(error?.message, /neither AOF nor RDB snapshots/)
  for (const node of client.nodes('master')) t.match(error?.message, `127.0.0.1:${node.options.port ?? 0}`)
})

t.test('Cluster: init refuses when one master evicts allkeys-*', async (t) => {
  const client = await freshCluster()
  const [node] = client.nodes('master')
  if (node === undefined) return t.fail('no master')
  await node.config('SET', 'maxmemory-policy', 'allkeys-lfu')
  t.teardown(async () => { await node.config('SET', 'maxmemory-policy', 'noeviction') })
  const log: string[] = []
  await new RedisCredentialStore(client, { acceptDataLoss: true }).init({ warn: (message) => log.push(message) })
  t.equal(log.length, 1, 'acceptDataLoss: one warning')
  t.match(log[0], `127.0.0.1:${node.options.port ?? 0} has maxmemory-policy allkeys-lfu`)
})

t.test('Cluster: init writes one marker per hash slot, on the master that serves it', async (t) => {
  const client = await freshCluster()
  await new RedisCredentialStore(client, { acceptDataLoss: true }).init(quiet)
  const sizes = await Promise.all(client.nodes('master').map(async (node) => await node.dbsize()))
  t.equal(sizes.reduce((a, b) => a + b, 0), 16384)
  t.ok(sizes.every((size) => size > 0), 'every master has its share')
})

t.test('Cluster: FLUSHALL on one master makes the reads of its slots throw; other masters answer on', async (t) => {
  const client = await freshCluster()
  const store = new RedisCredentialStore(client, { acceptDataLoss: true })
  await store.init(quiet)
  const owners = Array.from({ length: 12 }, (_, i) => `user:${i}`)
  for (const owner of owners) {
    await store.savePending(owner, 's', 60_000)
    await store.enable(owner, 's', ['h'], 1)
    await store.addPasskey(owner, {
      id: `cred-${owner}`,
      publicKey: 'pk',
      counter: 0,
      transports: [],
      name: 'Passkey',
      createdAt: 1,
      lastUsedAt: null,
      backedUp: false,
      identity: { kind: 'email', value: `${owner}@example.com` }
    })
  }
  const [flushed] = client.nodes('master')
  if (flushed === undefined) return t.fail('no master')
  // A master answers a key it does not serve with MOVED: count its keys in the key's slot instead.
  const lost = async (key: string): Promise<boolean> => await flushed.cluster('COUNTKEYSINSLOT', keySlot(key)) > 0
  const on = await Promise.all(owners.map(async (owner) => ({
    owner,
    totp: await lost(`otp:{${owner}}:totp`),
    index: await lost(`otp:{${owner}}:passkeys`),
    passkey: await lost(`otp:{pk:cred-${owner}}`)
  })))
  t.ok(on.some((o) => o.totp) && on.some((o) => !o.totp), 'some owners on the flushed master, some not')
  await flushed.flushall()
  for (const o of on) {
    if (o.totp) await t.rejects(store.get(o.owner), CredentialDataLostError, `${o.owner} get`)
    else t.match(await store.get(o.owner), { enabled: true }, `${o.owner} get`)
    if (o.passkey) await t.rejects(store.findPasskey(`cred-${o.owner}`), CredentialDataLostError, `${o.owner} findPasskey`)
    else t.ok(await store.findPasskey(`cred-${o.owner}`), `${o.owner} findPasskey`)
    if (o.index || o.passkey) await t.rejects(store.listPasskeys(o.owner), CredentialDataLostError, `${o.owner} listPasskeys`)
    else t.equal((await store.listPasskeys(o.owner)).length, 1, `${o.owner} listPasskeys`)
  }
})
