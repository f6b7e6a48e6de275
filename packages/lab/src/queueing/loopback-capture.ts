/**
 * `tcpdump` on the loopback interface, writing a pcap of one UDP port's traffic: started before a
 * window, stopped (SIGINT, so it flushes) after it. Immediate mode (without it the packets of a
 * ring block not yet handed over are lost at SIGINT: the window's last ones), packet-buffered
 * writes (-U) and unbounded snap length, so every SIP datagram is whole in the file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { QueueingError } from './queueing-error.js';

export interface LoopbackCapture {
  /** Packets tcpdump says it dropped (kernel buffer full), once stopped. */
  stop(): Promise<{ dropped: number | undefined }>;
}

export async function startLoopbackCapture(file: string, port: number, options: { readonly cpus?: string } = {}): Promise<LoopbackCapture> {
  const args = ['-i', 'lo', '--immediate-mode', '-U', '-s', '0', '-B', '65536', '-n', '-w', file, 'udp', 'port', String(port)];
  const command = options.cpus === undefined ? 'tcpdump' : 'taskset';
  const child: ChildProcess = spawn(command, options.cpus === undefined ? args : ['-c', options.cpus, 'tcpdump', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stderr?.on('data', () => {
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!listening) {
    child.kill('SIGKILL');
    throw new QueueingError('ERR_SWITCHBOARD_MODEL_CAPTURE', `tcpdump ${args.join(' ')}: ${stderr.trim().slice(-400) || 'did not start'}`);
  }
  return {
    async stop() {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      const dropped = /(\d+) packets? dropped by kernel/.exec(stderr)?.[1];
      return { dropped: dropped === undefined ? undefined : Number(dropped) };
    },
  };
}
