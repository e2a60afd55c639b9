// Reads a V8 CPU profile (.cpuprofile, as --cpu-prof or the inspector writes it) and says where the time went:
// by package, the functions with the most self time, and the plugin's own functions with what they call.
// `node bench/tmp/js/bench/profile.js FILE...` prints it.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

/** Where a script lives, in a few words: this package, a dependency by name, or Node itself. */
function area (url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (url.includes('/dist/cjs/')) return 'fastify-otp-login'
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dependency?.[1]) return dependency[1]
  if (url.startsWith('node:')) return 'node'
  return basename(url)
}

function shortUrl (url: string): string {
  const at = url.lastIndexOf('node_modules/')
  if (at >= 0) return url.slice(at + 'node_modules/'.length)
  const dist = url.indexOf('/dist/cjs/')
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, '')
}

export function summarize (profile: CpuProfile, top = 15): string {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const name = ({ functionName, url, lineNumber }: ProfileNode['callFrame']): string =>
    `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}:${lineNumber + 1}` : ''}`

  const byArea = new Map<string, number>()
  const byFunction = new Map<string, number>()
  // The plugin's functions with everything they call (as far as the stack reaches: not across an await).
  const pluginTotal = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, micros: number): void => { map.set(key, (map.get(key) ?? 0) + micros) }
  let busy = 0
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0
    const frame = nodes.get(id)?.callFrame
    if (!frame || frame.functionName === '(idle)') return
    busy += micros
    add(byArea, area(frame.url, frame.functionName), micros)
    add(byFunction, name(frame), micros)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const caller = nodes.get(at)?.callFrame
      if (caller && area(caller.url, caller.functionName) === 'fastify-otp-login' && !seen.has(name(caller))) {
        seen.add(name(caller))
        add(pluginTotal, name(caller), micros)
      }
    }
  })
  const share = (micros: number): string => `${(100 * micros / busy).toFixed(1).padStart(5)}%`
  const list = (map: Map<string, number>): string[] =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, micros]) => `  ${share(micros)}  ${key}`)
  return [
    `busy ${(busy / 1e6).toFixed(2)} s; self time by package:`, ...list(byArea),
    'functions with the most self time:', ...list(byFunction),
    ...(pluginTotal.size ? ["the plugin's functions, with what they call:", ...list(pluginTotal)] : [])
  ].join('\n')
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) {
    console.log(`== ${file}\n${summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile)}\n`)
  }
}
