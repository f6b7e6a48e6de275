/**
 * Every option of `switchboard bench`, once (see option-schema.ts): the flags and their section
 * of docs/configuration.md come from here. Ranges and combinations the table cannot say are
 * checked by the bench library (ERR_SWITCHBOARD_BENCH_OPTION).
 */
import { ARRIVALS } from '@switchboard/bench/constants';
import type { OptionSpec } from './option-schema.js';

const LIFETIME = 'persistent, per-ops:N (a new connection every N INVITE/BYE transactions) or per-transaction';

export const BENCH_OPTIONS = [
  // ---- target and load
  { key: 'proxy', kind: 'host-port', arg: 'host:port', required: true, scope: 'Target and load', doc: 'the proxy under test' },
  { key: 'domain', kind: 'text', arg: 'name', default: 'example.com', scope: 'Target and load', doc: 'the domain the proxy serves' },
  { key: 'transport', kind: 'choice', choices: ['udp', 'tcp', 'tls'], default: 'udp', scope: 'Target and load', doc: 'how phones reach the proxy' },
  { key: 'clients', kind: 'number', arg: 'n', integer: true, scope: 'Target and load', doc: 'closed loop: caller phones, each with its own callee; each calls again when its call ends' },
  { key: 'rate', kind: 'number', arg: 'calls/s', scope: 'Target and load', doc: 'open loop: calls started per second, whatever happened to earlier ones' },
  { key: 'arrivals', kind: 'choice', choices: ARRIVALS, default: 'exponential', scope: 'Target and load', doc: 'open loop: inter-arrival times (every law has mean 1/rate; Pareto with shape 2.5)' },
  { key: 'pairs', kind: 'number', arg: 'n', integer: true, defaultText: 'the rate, at least 10', scope: 'Target and load', doc: 'open loop: caller/callee pairs the calls are spread over' },
  { key: 'seed', kind: 'number', arg: 'n', integer: true, zero: true, default: 1, scope: 'Target and load', doc: 'seed of the open-loop arrival times' },
  { key: 'conn', kind: 'text', arg: 'lifetime', default: 'persistent', scope: 'Target and load', doc: `caller connections: ${LIFETIME}` },
  { key: 'callee-conn', kind: 'text', arg: 'lifetime', defaultText: 'as --conn', scope: 'Target and load', doc: 'callee connections; non-persistent callees listen and the proxy connects to them' },
  { key: 'keepalive', kind: 'number', arg: 'seconds', defaultText: 'none', scope: 'Target and load', doc: 'TCP and TLS: phones keep the connections they open alive as real ones do (RFC 5626 §4.4.1): a CRLF CRLF ping after this many seconds without traffic, a CRLF pong expected within 10 s (else the phone reconnects and registers again); keep it below the proxy\'s --idle-timeout' },
  // ---- registration workloads (E5, E6)
  { key: 'workload', kind: 'choice', choices: ['calls', 'scale', 'registration'], default: 'calls', scope: 'Registration workloads', doc: 'calls between phone pairs; scale: hold --clients connections, each REGISTERed, and probe REGISTER response time at --probe-rates; registration: --rate REGISTERs/s over --clients clients, each REGISTER over --conn persistent, persistent-open (opened at its first REGISTER) or per-transaction' },
  { key: 'probe-rates', kind: 'text', arg: 'list', default: '83', scope: 'Registration workloads', doc: 'scale: REGISTERs/s of each probe over the held connections, comma-separated (each one --duration long)' },
  { key: 'open-rate', kind: 'number', arg: 'n', default: 2000, scope: 'Registration workloads', doc: 'scale: connections opened (and later closed) per second at most' },
  { key: 'expires', kind: 'number', arg: 'seconds', integer: true, default: 3600, scope: 'Registration workloads', doc: 'REGISTER Expires; held registrations are refreshed before it when the hold is longer' },
  { key: 'retry-after', kind: 'choice', choices: ['ignore', 'honour'], default: 'ignore', scope: 'Registration workloads', doc: 'registration: what a phone does with the Retry-After of a failure (an overloaded proxy\'s 503): ignore it and send its next REGISTER when the load asks (as SIPp does), or honour it (RFC 3261 §21.5.4) and send nothing for that long' },
  { key: 'file-limit', kind: 'number', arg: 'n', integer: true, default: 20000, scope: 'Registration workloads', doc: 'open files per generator process: more clients take more processes (and source addresses 127.0.0.2, … past one address\'s ports)' },
  // ---- window
  { key: 'duration', kind: 'number', arg: 'seconds', default: 10, scope: 'Window', doc: 'length of the measured window' },
  { key: 'calls', kind: 'number', arg: 'n', integer: true, scope: 'Window', doc: 'end the window after this many calls' },
  { key: 'warmup', kind: 'number', arg: 'seconds', zero: true, default: 2, scope: 'Window', doc: 'load before the window, not measured' },
  { key: 'hold', kind: 'number', arg: 'ms', zero: true, default: 0, scope: 'Window', doc: 'how long a call stays up between ACK and BYE' },
  { key: 'timeout', kind: 'number', arg: 'ms', default: 5000, scope: 'Window', doc: 'a transaction without a final response after this long fails as a timeout' },
  // ---- generator
  { key: 'procs', kind: 'number', arg: 'n', integer: true, default: 1, scope: 'Generator', doc: 'generator processes' },
  { key: 'local-hosts', kind: 'number', arg: 'n', integer: true, defaultText: '50 when the proxy is on loopback', scope: 'Generator', doc: 'spread phones over 127.0.0.1-127.0.0.N, so short-lived connections do not run out of ports' },
  { key: 'generator-cpus', kind: 'text', arg: 'list', scope: 'Generator', doc: 'run the generator processes under taskset -c LIST' },
  { key: 'cpu-limit', kind: 'number', arg: 'percent', default: 90, scope: 'Generator', doc: 'a generator process busier than this percent of a core, or all of them together busier than this percent of their CPUs, marks the result generator-bound' },
  // ---- TLS and authentication
  { key: 'tls-ca', kind: 'path', arg: 'file', scope: 'TLS and authentication', doc: 'TLS: CA to verify the proxy with (no verification without it)' },
  { key: 'tls-cert', kind: 'path', arg: 'file', scope: 'TLS and authentication', doc: 'TLS: certificate for client authentication and for callees that accept connections (must name 127.0.0.1-127.0.0.N)' },
  { key: 'tls-key', kind: 'path', arg: 'file', scope: 'TLS and authentication', doc: 'TLS: key of --tls-cert' },
  { key: 'tls-resume', kind: 'flag', default: false, scope: 'TLS and authentication', doc: 'TLS: resume the previous session on each new connection' },
  { key: 'tls-client-cert', kind: 'flag', default: false, scope: 'TLS and authentication', doc: 'TLS: present --tls-cert to the proxy' },
  { key: 'auth-password', kind: 'text', arg: 'password', scope: 'TLS and authentication', doc: 'digest authentication: every phone (callerN, calleeN) answers 401/407 with this password' },
  // ---- the proxy's side and output
  { key: 'proxy-pid', kind: 'number', arg: 'pid', integer: true, scope: 'Measurement and output', doc: 'record CPU and memory of this process and its descendants' },
  { key: 'proxy-metrics', kind: 'text', arg: 'url', scope: 'Measurement and output', doc: "record the proxy's counters over the window, e.g. http://127.0.0.1:9090/metrics" },
  { key: 'out', kind: 'path', arg: 'file', scope: 'Measurement and output', doc: 'write the JSON result here instead of stdout' },
  { key: 'quiet', kind: 'flag', default: false, scope: 'Measurement and output', doc: 'no progress bar and no summary' },
] as const satisfies readonly OptionSpec[];
