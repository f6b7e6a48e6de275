import type { ClusterNode } from 'ioredis';

/**
 * Where `--redis-url` points: one server (`redis://`, `rediss://`, given to ioredis as it is) or a
 * Redis Cluster, `redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]` (`rediss+cluster://`
 * for TLS). ioredis has no URL form for a cluster, only `new Cluster([{host, port}, ...])`; the
 * seed nodes are that list, comma-separated (the form of the `--cluster create` argument list and
 * of the seed lists other clients take), and need not name every node: the client learns the
 * others from `CLUSTER SLOTS`. Credentials and TLS apply to every node.
 */
export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly ClusterNode[]; readonly username?: string; readonly password?: string; readonly tls: boolean };

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(.*)$/;

/** Reads a `--redis-url` value; throws an Error saying what is wrong with it. */
export function parseRedisTarget(url: string): RedisTarget {
  const cluster = CLUSTER_SCHEME.exec(url);
  if (cluster === null) {
    if (!/^rediss?:\/\//.test(url)) throw new Error('must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL');
    return { kind: 'single', url };
  }
  const [, scheme, rest = ''] = cluster;
  const authority = rest.replace(/\/$/, '');
  const at = authority.lastIndexOf('@');
  const hosts = at < 0 ? authority : authority.slice(at + 1);
  let username: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    username = decodeURIComponent(colon < 0 ? userInfo : userInfo.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(userInfo.slice(colon + 1));
  }
  const nodes = hosts.split(',').map((node) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5})$/.exec(node.trim());
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65535) throw new Error(`"${node}" is not HOST:PORT (a Redis Cluster URL is ${scheme}+cluster://HOST:PORT[,HOST:PORT...])`);
    return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
  });
  return { kind: 'cluster', nodes, username, password, tls: scheme === 'rediss' };
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
