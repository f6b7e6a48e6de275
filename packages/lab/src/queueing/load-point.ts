/**
 * One E9 load point from its three records: the capture (arrivals and departures at the proxy's
 * port), the proxy's message trace (service times) and the generator's result. Each traced
 * message that the capture saw arrive and leave gives a waiting time: residence − service.
 */
import { readFile } from 'node:fs/promises';
import type { MessageTrace } from '@switchboard/core';
import { batchMeans } from './batch-means.js';
import type { CaptureAnalysis } from './capture-analysis.js';
import type { LoadPointMeasurement } from './queueing-fit.js';
import { momentsByKind } from './service-moments.js';
import { messageKey } from './sip-datagram.js';

export interface PointWindow {
  /** Wall-clock microseconds. */
  readonly startUs: number;
  readonly endUs: number;
}

export async function readTrace(file: string): Promise<MessageTrace[]> {
  const traces: MessageTrace[] = [];
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return traces;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      traces.push(JSON.parse(line) as MessageTrace);
    } catch {
      // The last line of a proxy stopped mid-write.
    }
  }
  return traces;
}

export interface PointInputs {
  readonly arrivals: string;
  readonly offeredCallsPerSecond: number;
  readonly achievedCallsPerSecond: number;
  readonly successRatio: number;
  readonly window: PointWindow;
  readonly capture: CaptureAnalysis & { readonly arrivalsInWindow: number };
  readonly traces: readonly MessageTrace[];
  readonly batches: number;
}

export function loadPoint(inputs: PointInputs): LoadPointMeasurement & { readonly traced: number; readonly waitingByKind: Record<string, number> } {
  const { window } = inputs;
  const inWindow = (wallUs: number): boolean => wallUs >= window.startUs && wallUs < window.endUs;
  const traces = inputs.traces.filter((trace) => inWindow(trace.wallMs * 1000));
  const service = momentsByKind(traces.map((trace) => ({ kind: trace.kind, serviceSeconds: trace.serviceUs / 1e6 })));
  const byKey = new Map<string, MessageTrace>();
  for (const trace of traces) {
    const key = messageKey({ callId: trace.callId, cseq: trace.cseq, cseqMethod: trace.method, status: trace.status });
    if (!byKey.has(key)) byKey.set(key, trace);
  }
  const waits: number[] = [];
  const kindWaits = new Map<string, number[]>();
  let residenceSum = 0;
  let residences = 0;
  for (const residence of inputs.capture.residences) {
    if (!inWindow(residence.arrivalUs)) continue;
    residenceSum += residence.residenceUs;
    residences++;
    const trace = byKey.get(residence.key);
    if (trace === undefined) continue;
    const wait = (residence.residenceUs - trace.serviceUs) / 1e6;
    waits.push(wait);
    const list = kindWaits.get(trace.kind) ?? [];
    list.push(wait);
    kindWaits.set(trace.kind, list);
  }
  const seconds = (window.endUs - window.startUs) / 1e6;
  return {
    arrivals: inputs.arrivals,
    offeredCallsPerSecond: inputs.offeredCallsPerSecond,
    achievedCallsPerSecond: inputs.achievedCallsPerSecond,
    successRatio: inputs.successRatio,
    lambda: inputs.capture.arrivalsInWindow / seconds,
    service,
    waiting: batchMeans(waits, inputs.batches),
    residenceMean: residences === 0 ? Number.NaN : residenceSum / residences / 1e6,
    matched: waits.length,
    traced: traces.length,
    waitingByKind: Object.fromEntries([...kindWaits].map(([kind, list]) => [kind, list.reduce((a, b) => a + b, 0) / list.length])),
  };
}
