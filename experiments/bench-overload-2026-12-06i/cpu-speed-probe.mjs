// A fixed piece of work (integer mixing, ~1 ms) every 50 ms, and the CPU time it took as this
// guest counts it (process.cpuUsage), one line a second: epoch ms, then the median and maximum
// µs of CPU a piece. Run at nice 19 pinned to a CPU beside a bench: if the host takes the vCPU
// away while the guest still counts the time as the running task's, a piece costs more.
// Usage: taskset -c CPU nice -n 19 node cpu-speed-probe.mjs SECONDS > OUT
const seconds = Number(process.argv[2] ?? 60);
const ITERATIONS = 400_000;
let sink = 0;
function piece() {
  let x = sink | 1;
  for (let i = 0; i < ITERATIONS; i++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
  sink = x;
}
for (let i = 0; i < 50; i++) piece();
let costs = [];
let second = Math.floor(Date.now() / 1000);
const end = Date.now() + seconds * 1000;
const timer = setInterval(() => {
  const before = process.cpuUsage();
  piece();
  const used = process.cpuUsage(before);
  costs.push(used.user + used.system);
  const now = Math.floor(Date.now() / 1000);
  if (now !== second) {
    costs.sort((a, b) => a - b);
    process.stdout.write(`${second * 1000} ${costs[Math.floor(costs.length / 2)] ?? 0} ${costs.at(-1) ?? 0}\n`);
    costs = [];
    second = now;
  }
  if (Date.now() > end) {
    clearInterval(timer);
    if (sink === 0.5) process.stdout.write('\n');
  }
}, 50);
