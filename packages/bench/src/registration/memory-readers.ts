/**
 * Memory as Linux accounts it, for connection-scale measurements: a process's resident and
 * proportional set sizes (`/proc/PID/smaps_rollup`: PSS shares pages held by several processes,
 * so a pool's processes add up honestly), the kernel's TCP socket memory (`/proc/net/sockstat`,
 * in pages) and the slab caches behind sockets (`/proc/slabinfo`, readable by root only).
 * Every reader returns undefined when its file cannot be read: never throws.
 */
import { readFile } from 'node:fs/promises';

export interface SetSizes {
  readonly rssBytes: number;
  readonly pssBytes: number;
}

/** `Rss:` and `Pss:` of an smaps_rollup text, in bytes. */
export function parseSmapsRollup(text: string): SetSizes | undefined {
  const kb = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]) * 1024;
  };
  const rssBytes = kb('Rss');
  const pssBytes = kb('Pss');
  return rssBytes === undefined || pssBytes === undefined ? undefined : { rssBytes, pssBytes };
}

export async function readSetSizes(pid: number | 'self'): Promise<SetSizes | undefined> {
  try {
    return parseSmapsRollup(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Sums over processes (those that could be read); undefined when none could. */
export async function readSetSizesOf(pids: readonly number[]): Promise<(SetSizes & { readonly processes: number }) | undefined> {
  const sizes = (await Promise.all(pids.map((pid) => readSetSizes(pid)))).filter((size): size is SetSizes => size !== undefined);
  if (sizes.length === 0) return undefined;
  return { rssBytes: sizes.reduce((sum, size) => sum + size.rssBytes, 0), pssBytes: sizes.reduce((sum, size) => sum + size.pssBytes, 0), processes: sizes.length };
}

export interface SocketStats {
  readonly socketsUsed: number;
  readonly tcpInUse: number;
  readonly tcpOrphan: number;
  readonly tcpTimeWait: number;
  readonly tcpAlloc: number;
  /** TCP socket buffer memory, in pages (the kernel's `tcp_mem` accounting). */
  readonly tcpMemPages: number;
}

export function parseSockstat(text: string): SocketStats | undefined {
  const used = /^sockets: used (\d+)/m.exec(text);
  const tcp = /^TCP: inuse (\d+) orphan (\d+) tw (\d+) alloc (\d+) mem (\d+)/m.exec(text);
  if (used === null || tcp === null) return undefined;
  return { socketsUsed: Number(used[1]), tcpInUse: Number(tcp[1]), tcpOrphan: Number(tcp[2]), tcpTimeWait: Number(tcp[3]), tcpAlloc: Number(tcp[4]), tcpMemPages: Number(tcp[5]) };
}

export async function readSockstat(): Promise<SocketStats | undefined> {
  try {
    return parseSockstat(await readFile('/proc/net/sockstat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Slab caches a TCP connection allocates from (the socket, its inode, its file and dentry, epoll items). */
export const SOCKET_SLABS = ['TCP', 'TCPv6', 'tcp_bind_bucket', 'request_sock_TCP', 'sock_inode_cache', 'filp', 'dentry', 'eventpoll_epi', 'eventpoll_pwq', 'skbuff_head_cache', 'kmalloc-2k', 'kmalloc-1k', 'kmalloc-512', 'kmalloc-256', 'kmalloc-192', 'kmalloc-64'];

/** Bytes held by each slab cache of a slabinfo text (active objects × object size). */
export function parseSlabinfo(text: string, names: readonly string[] = SOCKET_SLABS): Record<string, number> | undefined {
  if (!text.startsWith('slabinfo')) return undefined;
  const wanted = new Set(names);
  const bytes: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const name = fields[0];
    if (name === undefined || !wanted.has(name)) continue;
    const active = Number(fields[1]);
    const size = Number(fields[3]);
    if (Number.isFinite(active) && Number.isFinite(size)) bytes[name] = active * size;
  }
  return bytes;
}

export async function readSlabinfo(names: readonly string[] = SOCKET_SLABS): Promise<Record<string, number> | undefined> {
  try {
    return parseSlabinfo(await readFile('/proc/slabinfo', 'utf8'), names);
  } catch {
    return undefined;
  }
}

/** Everything above at one moment, for a before/after difference. */
export interface MemorySnapshot {
  readonly at: number;
  readonly proxy?: SetSizes & { readonly processes: number };
  readonly sockstat?: SocketStats;
  readonly slab?: Record<string, number>;
}

export async function memorySnapshot(proxyPids: readonly number[]): Promise<MemorySnapshot> {
  const [proxy, sockstat, slab] = await Promise.all([readSetSizesOf(proxyPids), readSockstat(), readSlabinfo()]);
  return { at: Date.now(), ...(proxy === undefined ? {} : { proxy }), ...(sockstat === undefined ? {} : { sockstat }), ...(slab === undefined ? {} : { slab }) };
}

/** The sum of slab bytes of two snapshots' common caches, after minus before; undefined without slabs. */
export function slabGrowth(before: MemorySnapshot, after: MemorySnapshot): number | undefined {
  if (before.slab === undefined || after.slab === undefined) return undefined;
  let growth = 0;
  for (const [name, bytes] of Object.entries(after.slab)) growth += bytes - (before.slab[name] ?? 0);
  return growth;
}
