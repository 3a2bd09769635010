import type { Stage, StageCost } from './stage-counter.js';
import { STAGES } from './stage-counter.js';
import type { summarizeTimes } from './stage-times.js';
import type { summarize } from './stats.js';

/** One scenario's run of `bench:pipeline` (an element of the results file's `results[model]`). */
export interface PipelineRun {
  scenario: 'quiet' | 'members' | 'tenants' | 'sequence';
  run: number;
  requests: number;
  /** First submission → every request finished (quiet: the mean of one create). */
  seconds: number;
  deviceLowerBoundSeconds: number;
  ratioToBound: number | null;
  requestsPerSecond: number;
  /** Submit → ACTIVE (the worker's TimeToActive), seconds. */
  latency: ReturnType<typeof summarize>;
  restCalls: number;
  configSyncs: number;
  /** One-minute load average when the run started and when it ended. */
  load: { before: number; after: number };
  /** AWS calls per request, by stage, and end to end (every stage but background). */
  perRequest: Record<Stage, StageCost> & { endToEnd: StageCost };
  /** Background calls during the run (heartbeats, reclaimer, idle polls), per second. */
  backgroundPerSecond: number;
  stageSeconds: ReturnType<typeof summarizeTimes>;
  /** Calls per request by stage, table and operation. */
  detail: Record<string, number>;
}

export interface PipelineResult {
  benchmark: 'pipeline';
  machine: { node: string; cpus: number; cpuModel: string; memoryGiB: number; date: string };
  /** The timing models run, by name. */
  timing: Record<string, unknown>;
  runs: number;
  quietSamples: number;
  /** The most an apply waited for a burst still being recorded (apply-cadence.ts; 0: off). Absent in runs before it existed. */
  applyWaitMs?: number;
  /** Each agent's concurrent worker invocations (`--worker-concurrency`; 5 when absent). */
  workerConcurrency?: number;
  results: Record<string, PipelineRun[]>;
}

const SCENARIO_TEXT: Record<PipelineRun['scenario'], string> = {
  quiet: 'one member create on a quiet load balancer',
  members: '1,000 single-member creates on one load balancer',
  tenants: '100 tenants, one member create each, at once',
  sequence: "the standard sequence (a load balancer's sixteen requests, create to delete), each waited for",
};

const round2 = (n: number) => Math.round(n * 100) / 100;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
};
const spread = (xs: readonly number[]) =>
  xs.length === 0 ? '' : `${round2(Math.min(...xs))} / ${round2(median(xs))} / ${round2(Math.max(...xs))}`;
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

function table(headers: string[], rows: (string | number)[][]): string[] {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(String).join(' | ')} |`),
  ];
}

/** The results file as Markdown: every run with its load, the spread per scenario, calls and times per stage. */
export function renderPipelineReport(result: PipelineResult, rawName: string): string {
  const { machine } = result;
  const models = Object.keys(result.results);
  const all = models.flatMap((m) => (result.results[m] ?? []).map((r) => ({ model: m, ...r })));
  const loads = all.flatMap((r) => [r.load.before, r.load.after]);
  const groups = models.flatMap((model) =>
    (['quiet', 'members', 'tenants', 'sequence'] as const)
      .map((scenario) => ({
        model,
        scenario,
        runs: (result.results[model] ?? []).filter((r) => r.scenario === scenario),
      }))
      .filter((g) => g.runs.length > 0),
  );
  const lines: string[] = [
    "# The pipeline's own cost (`npm run bench:pipeline`)",
    '',
    `Written by \`bench/pipeline.bench.ts\` on ${machine.date.slice(0, 10)}: ${machine.cpus} vCPU ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; ${result.runs} run(s) of each scenario in one local stack, the quiet case ${result.quietSamples} creates per run${result.applyWaitMs === undefined ? '' : `, applies paced behind a burst for at most ${result.applyWaitMs} ms (\`--apply-wait-ms\`)`}${result.workerConcurrency === undefined || result.workerConcurrency === 5 ? '' : `, ${result.workerConcurrency} worker invocations per agent (\`--worker-concurrency\`; 5 as in AWS)`}. The machine is shared with other work: one-minute load averages during these runs went from ${round2(Math.min(...loads))} to ${round2(Math.max(...loads))} (on 2 vCPUs), each run's beside it. AWS calls do not depend on the machine (except how many requests one apply happens to cover); times do. Raw figures: \`${rawName}.json\`.`,
    '',
    'Scenarios: ' +
      groups
        .filter((g, i, a) => a.findIndex((x) => x.scenario === g.scenario) === i)
        .map((g) => `**${g.scenario}**, ${SCENARIO_TEXT[g.scenario]}`)
        .join('; ') +
      '. Times: quiet, the mean submit → ACTIVE of one create; the others, first submission → every request ACTIVE.',
    '',
    '## Spread over runs (min / median / max)',
    '',
    ...table(
      [
        'timing',
        'scenario',
        'runs',
        'load (1 min)',
        'time (s)',
        'device bound (s)',
        '× bound',
        'requests/s',
        'submit → ACTIVE p95 (s)',
        'AWS calls / request',
      ],
      groups.map((g) => [
        g.model,
        g.scenario,
        g.runs.length,
        spread(g.runs.flatMap((r) => [r.load.before, r.load.after])),
        spread(g.runs.map((r) => r.seconds)),
        g.runs[0]?.deviceLowerBoundSeconds ?? '',
        g.runs.every((r) => r.ratioToBound !== null)
          ? spread(g.runs.map((r) => r.ratioToBound as number))
          : '',
        spread(g.runs.map((r) => r.requestsPerSecond)),
        spread(g.runs.map((r) => r.latency.p95)),
        spread(g.runs.map((r) => r.perRequest.endToEnd.calls)),
      ]),
    ),
    '',
    '## AWS calls per request, by stage (mean over runs)',
    '',
    ...table(
      ['timing', 'scenario', ...STAGES.filter((s) => s !== 'background'), 'end to end', 'background calls/s'],
      groups.map((g) => [
        g.model,
        g.scenario,
        ...STAGES.filter((s) => s !== 'background').map((s) =>
          round2(mean(g.runs.map((r) => r.perRequest[s].calls))),
        ),
        round2(mean(g.runs.map((r) => r.perRequest.endToEnd.calls))),
        round2(mean(g.runs.map((r) => r.backgroundPerSecond))),
      ]),
    ),
    '',
    'By table and operation (mean over runs):',
    '',
    ...table(
      ['timing', 'scenario', 'calls per request'],
      groups.map((g) => {
        const keys = [...new Set(g.runs.flatMap((r) => Object.keys(r.detail)))].filter(
          (k) => !k.startsWith('background'),
        );
        return [
          g.model,
          g.scenario,
          keys
            .sort()
            .map((k) => `${k} ${round2(mean(g.runs.map((r) => r.detail[k] ?? 0)))}`)
            .join('; '),
        ];
      }),
    ),
    '',
    "## Where a request's time goes, p50 / p95 (s), the median run by time",
    '',
    ...table(
      [
        'timing',
        'scenario',
        'request queue',
        'scheduler',
        'agent queue',
        'worker',
        'device',
        'config-sync',
        'statuses',
        'rest of batch',
        'total',
      ],
      groups.map((g) => {
        const byTime = [...g.runs].sort((a, b) => a.seconds - b.seconds);
        const t = (byTime[Math.floor((byTime.length - 1) / 2)] as PipelineRun).stageSeconds;
        const cell = (k: keyof typeof t) => `${t[k].p50} / ${t[k].p95}`;
        return [
          g.model,
          g.scenario,
          cell('requestQueue'),
          cell('scheduler'),
          cell('agentQueue'),
          cell('worker'),
          cell('device'),
          cell('configSync'),
          cell('statuses'),
          cell('batch'),
          cell('total'),
        ];
      }),
    ),
    '',
    '## Every run',
    '',
    ...table(
      [
        'timing',
        'scenario',
        'run',
        'load before / after',
        'time (s)',
        '× bound',
        'requests/s',
        'submit → ACTIVE p50 / p95 (s)',
        'AWS calls / request',
        'REST calls',
        'config-syncs',
      ],
      all.map((r) => [
        r.model,
        r.scenario,
        r.run,
        `${r.load.before} / ${r.load.after}`,
        r.seconds,
        r.ratioToBound ?? '',
        r.requestsPerSecond,
        `${r.latency.p50} / ${r.latency.p95}`,
        r.perRequest.endToEnd.calls,
        r.restCalls,
        r.configSyncs,
      ]),
    ),
    '',
  ];
  return lines.join('\n');
}
