import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Cluster, type ClusterOptions, type Redis } from 'ioredis'
import { RedisServer } from './redis.js'

const run = promisify(execFile)

/**
 * Fail-fast Cluster client settings, as the README recommends: a command for a slot whose node is down is
 * retried at most 6 times, 100 ms apart (ioredis's default is 16), then fails, and the request gets 503.
 */
export const clusterFailFast: ClusterOptions = {
  enableOfflineQueue: false,
  maxRedirections: 6,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 1000 },
  clusterRetryStrategy: (times) => Math.min(times * 50, 300)
}

/**
 * A throwaway Redis Cluster of masters without replicas, each a redis-server on a free loopback port (and a
 * free bus port, port + 10000), with no persistence. Stopped by `stop()`.
 */
export class RedisCluster {
  private readonly clients = new Set<Cluster>()
  private readonly admins = new Map<number, Promise<Redis>>()

  private constructor (readonly nodes: RedisServer[]) {}

  static async start (masters = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = []
    try {
      for (let i = 0; i < masters; i++) {
        nodes.push(await RedisServer.start({
          busPort: true,
          // cluster-config-file lands in the node's own temporary folder (its --dir).
          // Persistent (AOF), as the plugin's default credential store requires.
          args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--appendonly', 'yes']
        }))
      }
      await run('redis-cli', [
        '--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas', '0', '--cluster-yes'
      ], { timeout: 30_000 })
      const cluster = new RedisCluster(nodes)
      await cluster.waitUntilOk()
      return cluster
    } catch (err) {
      await Promise.all(nodes.map((node) => node.stop()))
      throw err
    }
  }

  /** Polls every node until each one sees `cluster_state:ok` and knows every other node. */
  async waitUntilOk (timeoutMs = 15_000): Promise<void> {
    const admins = await Promise.all(this.nodes.map((_, index) => this.admin(index)))
    const deadline = Date.now() + timeoutMs
    for (;;) {
      // A restarted node's admin connection may still be reconnecting: that is "not ok yet".
      const infos = await Promise.all(admins.map((admin) => admin.cluster('INFO').catch((err: Error) => err.message)))
      const ok = infos.every((info) =>
        info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${this.nodes.length}`))
      if (ok) return
      if (Date.now() > deadline) throw new Error(`cluster not ok after ${timeoutMs} ms:\n${infos.join('\n')}`)
      await sleep(100)
    }
  }

  /** A ready ioredis Cluster client with fail-fast settings; closed by `stop()`. */
  async client (options: ClusterOptions = {}): Promise<Cluster> {
    const client = new Cluster(this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), {
      ...clusterFailFast,
      ...options,
      redisOptions: { ...clusterFailFast.redisOptions, ...options.redisOptions }
    })
    client.on('error', () => {}) // node errors are expected in outage tests; commands still reject
    this.clients.add(client)
    if (client.status !== 'ready') await once(client, 'ready')
    return client
  }

  /** A plain connection to one node, for what a Cluster client hides (which node holds a key). */
  async admin (index: number): Promise<Redis> {
    const node = this.nodes[index]
    if (node === undefined) throw new Error(`no node ${index}`)
    let admin = this.admins.get(index)
    if (admin === undefined) {
      admin = node.client()
      this.admins.set(index, admin)
    }
    return await admin
  }

  /** Empties every master. */
  async flush (): Promise<void> {
    await Promise.all(this.nodes.map(async (_, index) => { await (await this.admin(index)).flushall() }))
  }

  async stop (): Promise<void> {
    for (const client of this.clients) client.disconnect()
    this.clients.clear()
    this.admins.clear()
    await Promise.all(this.nodes.map((node) => node.stop()))
  }
}
