import type { MessageSender } from '../transport-address.js';
import type { NamedRoutingStep, StepResult } from '../proxy/routing-step.js';
import type { MessageTimingRecorder } from './message-timing.js';

/** The routing steps, each followed by a timestamp in the recorder (the pipeline unchanged without --timing). */
export function timedSteps(steps: readonly NamedRoutingStep[], recorder: MessageTimingRecorder): readonly NamedRoutingStep[] {
  return steps.map(({ name, run }) => ({
    name,
    run: (request, source, context) => {
      const result = run(request, source, context);
      if (result instanceof Promise) {
        return result.then((settled: StepResult) => {
          recorder.step(name);
          return settled;
        });
      }
      recorder.step(name);
      return result;
    },
  }));
}

/** The sender, stamping each send before it starts. */
export function timedSender(sender: MessageSender, recorder: MessageTimingRecorder): MessageSender {
  return {
    send(target, bytes, onError) {
      recorder.send();
      sender.send(target, bytes, onError);
    },
  };
}
