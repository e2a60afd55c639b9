import { setTimeout as sleep } from 'node:timers/promises'
import { Redis, type RedisOptions } from 'ioredis'
import { failFast, RedisServer } from './redis.js'

const NAME = 'mymaster'

/** Polls `check` until it returns true; throws with `what` after `timeoutMs`. */
async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check().catch(() => false)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

const field = (info: string, name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim()

/**
 * A throwaway Sentinel setup on free loopback ports: a master, one replica and three Sentinels (quorum 2)
 * that fail over one second after the master stops answering. No persistence; stopped by `stop()`.
 */
export class SentinelGroup {
  private readonly clients = new Set<Redis>()

  private constructor (
    private master: RedisServer,
    private replica: RedisServer,
    readonly sentinels: RedisServer[],
    private readonly admins: Map<RedisServer, Redis>
  ) {}

  static async start (): Promise<SentinelGroup> {
    const servers: RedisServer[] = []
    try {
      // No 5 s wait for more replicas before the first full sync.
      const master = await RedisServer.start({ args: ['--repl-diskless-sync-delay', '0'] })
      servers.push(master)
      const replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(master.port), '--repl-diskless-sync-delay', '0'] })
      servers.push(replica)
      const admins = new Map([[master, await master.client()], [replica, await replica.client()]])
      // The replica must be attached before the Sentinels first ask the master about its replicas.
      await waitFor('the replica to sync', async () =>
        field(await admins.get(replica)!.info('replication'), 'master_link_status') === 'up', 10_000)

      const sentinels: RedisServer[] = []
      for (let i = 0; i < 3; i++) {
        const sentinel = await RedisServer.start({
          sentinel: [
            `sentinel monitor ${NAME} 127.0.0.1 ${master.port} 2`,
            `sentinel down-after-milliseconds ${NAME} 1000`,
            `sentinel failover-timeout ${NAME} 3000`,
            'sentinel resolve-hostnames no'
          ]
        })
        servers.push(sentinel)
        sentinels.push(sentinel)
        admins.set(sentinel, await sentinel.client())
      }
      const group = new SentinelGroup(master, replica, sentinels, admins)
      // Sentinels find the replica through the master, and each other through hello messages every 2 s.
      await waitFor('every Sentinel to know the replica and the other Sentinels', async () => {
        for (const sentinel of sentinels) {
          const admin = admins.get(sentinel)!
          const replicas = await admin.call('SENTINEL', 'REPLICAS', NAME) as unknown[]
          const others = await admin.call('SENTINEL', 'SENTINELS', NAME) as unknown[]
          if (replicas.length !== 1 || others.length !== sentinels.length - 1) return false
        }
        return true
      }, 15_000)
      return group
    } catch (err) {
      await Promise.all(servers.map((server) => server.stop()))
      throw err
    }
  }

  /** The port of the server currently serving as master. */
  get masterPort (): number {
    return this.master.port
  }

  /** A ready ioredis client that finds the master through the Sentinels, with fail-fast settings. */
  async client (options: RedisOptions = {}): Promise<Redis> {
    const client = new Redis({
      sentinels: this.sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port })),
      name: NAME,
      ...failFast,
      sentinelRetryStrategy: (times) => Math.min(times * 50, 300),
      ...options
    })
    client.on('error', () => {}) // expected during a failover; commands still reject
    this.clients.add(client)
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
    return client
  }

  /**
   * Crashes the master (SIGKILL) once the replica has every write it took, so the test controls what
   * asynchronous replication would otherwise leave to chance: writes are paused, the replica catches up,
   * then the process dies with the paused commands in flight.
   */
  async crashMaster (): Promise<void> {
    const master = this.admins.get(this.master)!
    const replica = this.admins.get(this.replica)!
    await master.call('CLIENT', 'PAUSE', '10000', 'WRITE')
    const offset = Number(field(await master.info('replication'), 'master_repl_offset'))
    await waitFor('the replica to catch up', async () =>
      Number(field(await replica.info('replication'), 'slave_repl_offset')) >= offset, 5_000)
    await this.master.kill()
  }

  /** Waits until every Sentinel names the replica as master and it has taken the role. */
  async waitForFailover (timeoutMs = 20_000): Promise<void> {
    const promoted = this.replica
    await waitFor('the Sentinels to promote the replica', async () => {
      for (const sentinel of this.sentinels) {
        const [, port] = await this.admins.get(sentinel)!.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME) as [string, string]
        if (Number(port) !== promoted.port) return false
      }
      return field(await this.admins.get(promoted)!.info('replication'), 'role') === 'master'
    }, timeoutMs)
    ;[this.master, this.replica] = [promoted, this.master]
  }

  async stop (): Promise<void> {
    for (const client of this.clients) client.disconnect()
    this.clients.clear()
    for (const admin of this.admins.values()) admin.disconnect()
    await Promise.all([this.master, this.replica, ...this.sentinels].map((server) => server.stop()))
  }
}
