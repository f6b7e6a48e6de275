/**
 * The lab and the bench, loaded by the commands that need them, never at the top of a module:
 * `switchboard serve` (and every worker it forks, which runs this same program) must not carry
 * their code (the report's chart libraries among it).
 */
export const loadLab = (): Promise<typeof import('@switchboard/lab')> => import('@switchboard/lab');
export const loadBench = (): Promise<typeof import('@switchboard/bench')> => import('@switchboard/bench');
