import { setTimeout as sleep } from 'node:timers/promises'
import { wrongCode } from './app.js'

export type Step = 'login' | 'wrong' | 'verify' | 'replay'

export interface Sample {
  step: Step
  status: number
  /** When the request started and how long it took, in milliseconds. */
  at: number
  ms: number
}

/** Sends one request and answers its status: `post('/login', { phone })`. */
export type Post = (url: string, payload: Record<string, string>) => Promise<number>

/**
 * Users logging in, in a loop, from several workers at once: each one asks for a code on a new number, makes
 * one wrong guess, sends the right code, then replays it. Records every answer, and every code that earned a
 * token, so a test can check that no code was ever accepted twice.
 */
export class Traffic {
  readonly samples: Sample[] = []
  /** How many times each `phone code` pair was accepted. */
  readonly accepted = new Map<string, number>()
  private running = false
  private workers: Array<Promise<void>> = []
  private numbers = 0

  constructor (private readonly post: Post, private readonly codeFor: (phone: string) => string) {}

  start (workers: number): void {
    this.running = true
    this.workers = Array.from({ length: workers }, () => this.work())
  }

  async stop (): Promise<void> {
    this.running = false
    await Promise.all(this.workers)
  }

  /** Waits until a request that started after `since` got `status` on `step`. */
  async waitFor (step: Step, status: number, since: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const hit = this.samples.find((s) => s.step === step && s.status === status && s.at >= since)
      if (hit) return hit.at + hit.ms
      if (Date.now() > deadline) throw new Error(`no ${status} on ${step} within ${timeoutMs} ms`)
      await sleep(20)
    }
  }

  statuses (from = 0, to = Infinity): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const s of this.samples) {
      if (s.at < from || s.at > to) continue
      const key = `${s.step} ${s.status}`
      counts[key] = (counts[key] ?? 0) + 1
    }
    return counts
  }

  private async send (step: Step, url: string, payload: Record<string, string>): Promise<number> {
    const at = Date.now()
    const status = await this.post(url, payload)
    this.samples.push({ step, status, at, ms: Date.now() - at })
    return status
  }

  private async work (): Promise<void> {
    while (this.running) {
      const phone = `+9198${10_000_000 + this.numbers++}`
      if (await this.send('login', '/login', { phone }) !== 200) {
        await sleep(10) // the store is down: do not spin
        continue
      }
      const code = this.codeFor(phone)
      await this.send('wrong', '/verify-otp', { phone, otp: wrongCode(code) })
      if (await this.send('verify', '/verify-otp', { phone, otp: code }) === 200) {
        const key = `${phone} ${code}`
        this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1)
      }
      if (await this.send('replay', '/verify-otp', { phone, otp: code }) === 200) {
        const key = `${phone} ${code}`
        this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1)
      }
    }
  }
}
