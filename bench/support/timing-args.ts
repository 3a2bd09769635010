import { TIMING_MODELS } from '../../local/bigip-simulator/timing-model.js';

export type TimingName = keyof typeof TIMING_MODELS;

/** The timing models a benchmark runs under: `--timing zero|real` for one, both by default. */
export function chosenTimings(argv: readonly string[] = process.argv): TimingName[] {
  const at = argv.indexOf('--timing');
  if (at < 0) return ['zero', 'real'];
  const name = argv[at + 1] ?? '';
  if (!(name in TIMING_MODELS))
    throw new Error(`--timing ${name}: one of ${Object.keys(TIMING_MODELS).join(', ')}`);
  return [name as TimingName];
}
