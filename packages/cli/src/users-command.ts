import { readFile, rename, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { RedisCredentialStore, parseRedisTarget } from '@switchboard/cluster';
import { AuthConfigError, formatUsersFile, parseUsersFile, userCredentials, type UserCredentials } from '@switchboard/core';
import { DIGEST_ALGORITHMS, digestAlgorithm, type DigestAlgorithm } from '@switchboard/sip';
import { SwitchboardError } from './errors.js';

/** Everything on stdin, without the final line break: the password. */
async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Adds or replaces `entry` in the users file at `path` (created when missing), written atomically. */
async function addToFile(path: string, entry: UserCredentials): Promise<void> {
  let entries: UserCredentials[] = [];
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new SwitchboardError('ERR_SWITCHBOARD_AUTH_USERS', `--file: cannot read ${path}: ${(error as Error).message}`);
  }
  let comment: string | undefined;
  if (text !== undefined) {
    try {
      entries = parseUsersFile(text, path);
      comment = (JSON.parse(text) as { comment?: string }).comment;
    } catch (error) {
      if (error instanceof AuthConfigError) throw new SwitchboardError(error.code, `--file: ${error.message}`);
      throw error;
    }
  }
  const kept = entries.filter((existing) => existing.user !== entry.user || existing.realm !== entry.realm);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, formatUsersFile([...kept, entry], comment), { mode: 0o600 });
  await rename(temporary, path);
}

/**
 * `switchboard users add`: HA1 entries from a password read on stdin (never a flag: it would
 * stay in the shell history and in `ps`), into a users file, a Redis hash, or stdout.
 */
export function usersCommand(): Command {
  const users = new Command('users').description('manage the credentials digest authentication checks (HA1 per algorithm, never passwords)');
  users
    .command('add')
    .description('add or replace a user; the password is read from stdin, e.g. printf %s "$PASSWORD" | switchboard users add ...')
    .requiredOption('--user <name>', 'user name (the user part of the AOR)')
    .requiredOption('--realm <realm>', 'realm (serve --auth-realm, by default its first --domain)')
    .option('--file <file>', 'users file to add the user to (created when missing)')
    .option('--redis-url <url>', 'Redis to add the user to, with --redis-hash: redis://HOST:PORT, or a cluster, redis+cluster://HOST:PORT[,HOST:PORT...]')
    .option('--redis-hash <key>', 'Redis hash of users (serve --auth-redis-hash)')
    .option('--algorithms <list>', `HA1 algorithms to store (default ${DIGEST_ALGORITHMS.join(',')})`)
    .action(async (flags: { user: string; realm: string; file?: string; redisUrl?: string; redisHash?: string; algorithms?: string }) => {
      if ((flags.redisUrl === undefined) !== (flags.redisHash === undefined)) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `${flags.redisUrl === undefined ? '--redis-hash' : '--redis-url'}: --redis-url and --redis-hash go together`);
      if (flags.redisUrl !== undefined) {
        try {
          parseRedisTarget(flags.redisUrl);
        } catch (error) {
          throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `--redis-url: ${(error as Error).message}`);
        }
      }
      let algorithms: DigestAlgorithm[] = [...DIGEST_ALGORITHMS];
      if (flags.algorithms !== undefined) {
        algorithms = flags.algorithms.split(',').map((name) => {
          const algorithm = digestAlgorithm(name.trim());
          if (algorithm === undefined) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `--algorithms: "${name}" is not one of ${DIGEST_ALGORITHMS.join(', ')}`);
          return algorithm;
        });
      }
      if (flags.realm.length === 0 || /["\\\r\n]/.test(flags.realm)) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', '--realm: must be a non-empty realm without quotes, backslashes or line breaks');
      if (flags.user.length === 0 || /[:\s]/.test(flags.user)) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', '--user: must be a non-empty user name without blanks or colons');
      const password = await readPassword();
      if (password.length === 0) throw new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', '--user: no password on stdin (printf %s "$PASSWORD" | switchboard users add ...)');
      const entry = userCredentials(flags.user, flags.realm, password, algorithms);
      if (flags.file !== undefined) await addToFile(flags.file, entry);
      if (flags.redisUrl !== undefined && flags.redisHash !== undefined) {
        let store: RedisCredentialStore;
        try {
          store = await RedisCredentialStore.connect(flags.redisUrl, flags.redisHash);
        } catch (error) {
          throw new SwitchboardError('ERR_SWITCHBOARD_STATE_UNAVAILABLE', `--redis-url: ${(error as Error).message}`, 1);
        }
        try {
          await store.put(entry);
        } finally {
          await store.close();
        }
      }
      if (flags.file === undefined && flags.redisUrl === undefined) process.stdout.write(`${JSON.stringify(entry)}\n`);
    });
  return users;
}
