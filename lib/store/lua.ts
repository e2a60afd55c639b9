import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'

/** A Lua script of `lib/store/scripts`, and how many of its arguments are keys: an ioredis command definition. */
export interface ScriptDefinition { numberOfKeys: number, lua: string }

export const script = (name: string, numberOfKeys: number): ScriptDefinition =>
  ({ numberOfKeys, lua: readFileSync(join(__dirname, 'scripts', `${name}.lua`), 'utf8') })

/** A script as a client command: keys first, then arguments; the answer as the script's comment says. */
export type ScriptCall<Reply> = (...args: Array<string | number>) => Promise<Reply>

/** What a script that only does its work answers. */
export type Done = ['ok']

/** Registers scripts on a client, once (ioredis keeps them per client, as commands). */
export function defineScripts (client: Redis | Cluster, scripts: Record<string, ScriptDefinition>): void {
  for (const [name, definition] of Object.entries(scripts)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, definition)
  }
}

/** A script answered with a word its decoder does not know (a script changed without its decoder): fail closed. */
export function unexpected (reply: never): never {
  throw new Error(`fastify-otp-login: unexpected answer from a store script: ${JSON.stringify(reply)}`)
}
