import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { Argument, Command, Option } from 'commander';
import { groupOf } from '../functions/domain/agent-scheduler.js';
import { isPending } from '../functions/domain/resource-state.js';
import { addCertCommands } from './cert-commands.js';
import { CliExit, json, out, withClient } from './cli-support.js';
import {
  formatAgents,
  formatDeadLetters,
  formatGroups,
  formatStats,
  formatSyncItem,
  formatSyncReport,
  formatTakeover,
  formatTree,
  table,
} from './format.js';
import { addResourceCommands, find, UUID_RE } from './resource-commands.js';
import { completionScript } from './shell-completion.js';
import { CONFIG_FILE, findConfig, localStateFile } from './target.js';

/** Requests from --file (one JSON object, a JSON array, or NDJSON; `-` is stdin) or from flags. */
function requestsFrom(opts: Record<string, string | undefined>): Record<string, unknown>[] {
  if (opts.file) {
    const text = readFileSync(opts.file === '-' ? 0 : opts.file, 'utf8').trim();
    if (text.startsWith('[')) return JSON.parse(text);
    const lines = text.split('\n').filter((l) => l.trim());
    return lines.map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (error) {
        throw new CliExit(`line ${i + 1} of ${opts.file}: ${(error as Error).message}`);
      }
    });
  }
  for (const required of ['resource', 'tenant', 'lb']) {
    if (!opts[required]) throw new CliExit(`--${required} is required (or give --file)`);
  }
  let object: Record<string, unknown> = {};
  if (opts.object) {
    try {
      object = JSON.parse(opts.object);
    } catch (error) {
      throw new CliExit(`--object is not JSON: ${(error as Error).message}`);
    }
  }
  const operation = opts.operation ?? 'create';
  // A member batch names its pool (object.pool_id), not an object id of its own.
  if (!('id' in object) && operation !== 'batch_update')
    object.id = opts.id ?? (opts.resource === 'loadbalancer' ? opts.lb : crypto.randomUUID());
  return [
    {
      version: 1,
      ...(opts.requestId ? { requestId: opts.requestId } : {}),
      operation,
      resource: opts.resource,
      tenantId: opts.tenant,
      loadbalancerId: opts.lb,
      object,
    },
  ];
}

/** The package's version (the CLI ships with the project; no build step stamps it). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Which configuration file the CLI uses from here, for --help. */
function configHelp(): string {
  const found = findConfig();
  return found
    ? `${found}, the nearest ${CONFIG_FILE} upward from the working directory`
    : `none: no ${CONFIG_FILE} in ${process.cwd()} or above it`;
}

export function buildProgram(): Command {
  const program = new Command('lbaas')
    .description(
      'Operate bigip-lbaas: submit LBaaS v2 requests, follow statuses, manage agents and dead letters',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option('--env <prefix>', 'environment prefix (default: the first in the config)')
    .option('--config <path>', `configuration file (default: ${configHelp()})`)
    .option('--stack <name>', 'CloudFormation stack (default <name>-<env>)')
    .addOption(
      new Option('--local', `use the local stack started by npm start (${localStateFile()})`).conflicts(
        'stack',
      ),
    )
    .showHelpAfterError();

  program
    .command('submit')
    .description(
      'send requests to the environment queue: from flags, a JSON file, or NDJSON (many, with progress)',
    )
    .option('--file <path>', 'JSON object, JSON array or NDJSON file; - for stdin')
    .addOption(
      new Option(
        '--operation <op>',
        'create | update | delete | batch_update (members: --object \'{"pool_id":…,"members":[…]}\')',
      ).choices(['create', 'update', 'delete', 'batch_update']),
    )
    .addOption(
      new Option('--resource <type>').choices([
        'loadbalancer',
        'listener',
        'pool',
        'member',
        'healthmonitor',
      ]),
    )
    .option('--tenant <id>', 'project (tenant) id')
    .option('--lb <id>', 'load balancer id')
    .option('--id <id>', 'object id (default: the load balancer id for loadbalancer, else a new UUID)')
    .option('--object <json>', 'object fields (Neutron names)')
    .option('--request-id <id>', 'request id (default: a new UUID)')
    .option(
      '--wait',
      'wait until the requests took effect; exit 2 if anything ends in ERROR, 3 if a request is refused',
    )
    .option('--timeout <seconds>', 'with --wait: give up after', '300')
    .action(async (opts, command: Command) => {
      const messages = requestsFrom(opts);
      await withClient(command, async (client) => {
        let bar: cliProgress.SingleBar | undefined;
        if (messages.length > 1) {
          bar = new cliProgress.SingleBar(
            {
              format: 'submitting [{bar}] {value}/{total} requests',
              noTTYOutput: true,
              notTTYSchedule: 2000,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(messages.length, 0);
        }
        try {
          const sent = await client.submitMany(messages, (n) => bar?.update(n));
          bar?.stop();
          for (const s of sent) out(`submitted ${s.requestId} (load balancer ${s.loadbalancerId})`);
          if (opts.wait) {
            let errors = 0;
            let refusals = 0;
            for (const lb of new Set(sent.map((s) => s.loadbalancerId))) {
              const { tree, records, refused } = await client.wait(lb, {
                timeoutMs: Number(opts.timeout) * 1000,
                requests: sent.filter((s) => s.loadbalancerId === lb),
              });
              for (const r of refused)
                out(
                  `refused ${r.requestId} (${r.operation ?? ''} ${r.resource ?? ''} ${r.objectId ?? ''}): ${r.reason}`,
                );
              refusals += refused.length;
              out(
                tree
                  ? formatTree(tree)
                  : refused.length > 0
                    ? `load balancer ${lb} does not exist`
                    : `load balancer ${lb} is gone (deleted)`,
              );
              errors += records.filter((r) => r.provisioningStatus === 'ERROR').length;
            }
            if (refusals > 0) throw new CliExit(`${refusals} request(s) refused`, 3);
            if (errors > 0) throw new CliExit(`${errors} object(s) in ERROR`, 2);
          }
        } catch (error) {
          bar?.stop();
          throw error;
        }
      });
    });

  addResourceCommands(program);
  addCertCommands(program);

  program
    .command('completion')
    .description('print a shell completion script: source <(lbaas completion bash)')
    .addArgument(new Argument('<shell>').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(completionScript(program, shell));
    });

  program
    .command('status <loadbalancer>')
    .description('provisioning and operating status of every object of a load balancer (id or name)')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, opts, command: Command) => {
      await withClient(command, async (client) => {
        const lb = (await find(client, 'loadbalancer', ref)).id;
        const tree = await client.status(lb);
        if (!tree) throw new CliExit(`load balancer ${lb} not found`);
        if (opts.json) json(tree);
        else out(formatTree(tree));
      });
    });

  program
    .command('stats <loadbalancer>')
    .description(
      "traffic statistics of a load balancer, as the status poller last read them (Octavia's shape)",
    )
    .option(
      '--json',
      'Octavia\'s JSON: {"stats": {bytes_in, bytes_out, active_connections, total_connections, request_errors}}',
    )
    .action(async (ref: string, opts, command: Command) => {
      await withClient(command, async (client) => {
        const lb = (await find(client, 'loadbalancer', ref)).id;
        const result = await client.stats(lb);
        if (!result) throw new CliExit(`load balancer ${lb} not found`);
        if (opts.json) json({ stats: result.stats });
        else out(formatStats(result));
      });
    });

  program
    .command('sync')
    .description(
      'compare the devices with the desired state and repair the difference (drift, a replaced unit); orphans are removed only with --remove-orphans',
    )
    .option('--dry-run', 'only print what would be created, changed and removed')
    .option('--lb <id>', 'one load balancer')
    .option('--tenant <id>', "one tenant's load balancers and partition")
    .option('--all', 'every load balancer and partition of the environment (the default)')
    .option('--remove-orphans', 'also remove objects named like ours that nothing desires')
    .option('--group <name>', 'one device group (default: every group, one after another)')
    .option('--json', 'machine-readable output')
    .action(async (opts, command: Command) => {
      if (opts.lb && opts.tenant) throw new CliExit('give --lb or --tenant, not both');
      await withClient(command, async (client) => {
        const groups = opts.group ? [String(opts.group)] : client.groupNames();
        const several = groups.length > 1;
        const reports = [];
        for (const group of groups) {
          if (several && !opts.json) out(`device group ${group}:`);
          const report = await client.sync(
            {
              dryRun: Boolean(opts.dryRun),
              removeOrphans: Boolean(opts.removeOrphans),
              group,
              ...(opts.lb ? { loadbalancerId: String(opts.lb) } : {}),
              ...(opts.tenant ? { tenantId: String(opts.tenant) } : {}),
            },
            opts.json ? undefined : (done, total, item) => out(formatSyncItem(done, total, item)),
          );
          reports.push({ group, report });
          if (!opts.json) out(formatSyncReport(report));
        }
        if (opts.json) json(several ? reports : reports[0]?.report);
        for (const { group, report } of reports) {
          const where = several ? `device group ${group}: ` : '';
          if (report.outcome === 'refused' || report.outcome === 'skipped')
            throw new CliExit(`${where}${report.reason}`, 3);
          if (report.outcome === 'aborted') throw new CliExit(`${where}stopped: ${report.reason}`, 3);
          if (report.loadbalancers.some((l) => l.outcome === 'failed'))
            throw new CliExit(`${where}some repairs failed`, 2);
        }
      });
    });

  program
    .command('takeover')
    .description(
      "list what this environment would adopt, rename or leave of a device group configured by F5's OpenStack agent (docs/takeover.md); reads only",
    )
    .option('--dry-run', 'list, change nothing (the only mode: the takeover itself follows docs/takeover.md)')
    .option('--agent-prefix <prefix>', "the F5 agent's environment_prefix", 'Project')
    .option('--group <name>', 'one device group (default: every group, one after another)')
    .option('--json', 'machine-readable output')
    .action(async (opts, command: Command) => {
      if (!opts.dryRun)
        throw new CliExit(
          'only the dry run is built: give --dry-run (docs/takeover.md says how the takeover itself is done)',
        );
      await withClient(command, async (client) => {
        const groups = opts.group ? [String(opts.group)] : client.groupNames();
        const several = groups.length > 1;
        const reports = [];
        for (const group of groups) {
          const report = await client.takeoverDryRun({ agentPrefix: String(opts.agentPrefix), group });
          reports.push({ group, report });
          if (!opts.json) {
            if (several) out(`device group ${group}:`);
            out(formatTakeover(report));
          }
        }
        if (opts.json) json(several ? reports : reports[0]?.report);
        for (const { group, report } of reports)
          if (report.outcome !== 'done')
            throw new CliExit(`${several ? `device group ${group}: ` : ''}${report.reason}`, 3);
      });
    });

  program
    .command('groups')
    .description(
      'device groups: enabled, capacity score (1 = full), agents alive, devices, usage against each limit',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts, command: Command) => {
      await withClient(command, async (client) => {
        const groups = await client.groups();
        if (opts.json) json(groups);
        else out(formatGroups(groups));
      });
    });

  for (const [verb, enabled] of [
    ['group-disable', false],
    ['group-enable', true],
  ] as const) {
    program
      .command(`${verb} <group>`)
      .description(
        enabled
          ? 'open a device group to new tenants again'
          : 'close a device group to new tenants (its tenants keep their load balancers and may add more)',
      )
      .action(async (group: string, _opts, command: Command) => {
        await withClient(command, async (client) => {
          await client.setGroupEnabled(group, enabled);
          out(
            `device group ${group} ${enabled ? 'enabled' : 'disabled'}${enabled ? '' : ': no new tenant is placed on it'}`,
          );
        });
      });
  }

  program
    .command('wait <loadbalancer>')
    .description('wait until nothing is pending; exit 2 if anything ends in ERROR')
    .option('--timeout <seconds>', 'give up after', '300')
    .option('--json', 'machine-readable output')
    .action(async (lb: string, opts, command: Command) => {
      await withClient(command, async (client) => {
        let last = '';
        const { tree, records } = await client.wait(lb, {
          timeoutMs: Number(opts.timeout) * 1000,
          onProgress: (rs) => {
            const pending = rs.filter((r) => isPending(r.provisioningStatus)).length;
            const line =
              rs.length === 0
                ? 'waiting for the load balancer to be recorded…'
                : `${pending} of ${rs.length} objects pending…`;
            if (line !== last && !opts.json) process.stderr.write(`${line}\n`);
            last = line;
          },
        });
        if (opts.json) json(tree ?? { deleted: true });
        else out(tree ? formatTree(tree) : `load balancer ${lb} is gone (deleted)`);
        const errors = records.filter((r) => r.provisioningStatus === 'ERROR');
        if (errors.length > 0) throw new CliExit(`${errors.length} object(s) in ERROR`, 2);
      });
    });

  program
    .command('agents')
    .description('agents: alive, admin state, heartbeat age, bound load balancers, device states')
    .option('--json', 'machine-readable output')
    .action(async (opts, command: Command) => {
      await withClient(command, async (client) => {
        const agents = await client.operations.agents(client.target.env);
        if (opts.json) json(agents);
        else out(formatAgents(agents));
      });
    });

  program
    .command('list-on-agent <host>')
    .description('load balancers bound to an agent (paginated)')
    .option('--limit <n>', 'page size', '100')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'fetch every page')
    .option('--json', 'machine-readable output')
    .action(async (host: string, opts, command: Command) => {
      await withClient(command, async (client) => {
        const items = [];
        let cursor: string | undefined = opts.cursor;
        do {
          const page = await client.operations.listOnAgent(client.target.env, host, {
            limit: Number(opts.limit),
            ...(cursor ? { cursor } : {}),
          });
          items.push(...page.items);
          cursor = page.cursor;
        } while (opts.all && cursor);
        if (opts.json) return json({ loadbalancers: items, ...(cursor ? { cursor } : {}) });
        out(
          table(
            ['LOAD BALANCER', 'TENANT', 'BOUND AT'],
            items.map((b) => [b.loadbalancerId, b.tenantId, new Date(b.boundAt).toISOString()]),
          ),
        );
        if (cursor) out(`more: --cursor ${cursor}`);
      });
    });

  program
    .command('hosting-agent <loadbalancer>')
    .description(
      'the agent a load balancer is bound to (even if that agent is dead), and who serves it now (a failover agent while it is dead)',
    )
    .option('--json', 'machine-readable output')
    .action(async (ref: string, opts, command: Command) => {
      await withClient(command, async (client) => {
        // An id or a name (a bound load balancer whose records are gone is still found by its id).
        const lb = UUID_RE.test(ref) ? ref : (await find(client, 'loadbalancer', ref)).id;
        const hosting = await client.operations.hostingAgent(lb);
        if (!hosting) throw new CliExit(`load balancer ${ref} is not bound to any agent`);
        if (opts.json) return json(hosting);
        const a = hosting.agent;
        const served = hosting.servedBy;
        out(
          table(
            ['HOST', 'GROUP', 'ALIVE', 'ADMIN', 'HEARTBEAT AGE', 'SERVED BY'],
            [
              [
                hosting.binding.host,
                hosting.binding.group ?? groupOf(a ?? {}),
                a?.alive ? 'alive' : 'dead',
                a?.adminStateUp === false ? 'down' : 'up',
                a?.heartbeatAgeSeconds === undefined ? '-' : `${a.heartbeatAgeSeconds}s`,
                served.host === undefined
                  ? 'nobody'
                  : served.decision === 'bound'
                    ? served.host
                    : `${served.host} (${served.decision})`,
              ],
            ],
          ),
        );
        if (served.host === undefined) out(`no agent serves it now: ${served.reason}`);
      });
    });

  for (const [name, up] of [
    ['agent-enable', true],
    ['agent-disable', false],
  ] as const) {
    program
      .command(`${name} <host>`)
      .description(
        up
          ? 'let the agent take work again (admin_state_up)'
          : 'stop giving the agent new work (admin_state_up false)',
      )
      .action(async (host: string, _opts, command: Command) => {
        await withClient(command, async (client) => {
          await client.operations.setAdminState(client.target.env, host, up);
          out(`agent ${host} ${up ? 'enabled' : 'disabled'}`);
        });
      });
  }

  program
    .command('agent-delete <host>')
    .description(
      'remove an agent; refused while load balancers are bound to it unless --force (which moves them to live agents first)',
    )
    .option(
      '--force',
      'move its load balancers to live agents of its group first (refused, naming them, for those none can take)',
    )
    .action(async (host: string, opts, command: Command) => {
      await withClient(command, async (client) => {
        const { moved } = await client.operations.deleteAgent(client.target.env, host, {
          force: Boolean(opts.force),
        });
        out(`agent ${host} deleted${moved ? `; ${moved} load balancer(s) moved to live agents` : ''}`);
      });
    });

  program
    .command('agent-drain <host>')
    .description('move the agent’s load balancers to other active agents (tenant affinity first)')
    .option('--to <host>', 'move them all to this agent')
    .option('--json', 'machine-readable output')
    .action(async (host: string, opts, command: Command) => {
      await withClient(command, async (client) => {
        const report = await client.operations.drain(client.target.env, host, opts.to ? { to: opts.to } : {});
        if (opts.json) return json(report);
        for (const m of report.moved) out(`moved ${m.loadbalancerId} → ${m.to} (${m.reason})`);
        for (const s of report.skipped) out(`kept ${s.loadbalancerId}: ${s.reason}`);
        out(`${report.moved.length} moved, ${report.skipped.length} kept`);
        if (report.skipped.length > 0)
          throw new CliExit(`${report.skipped.length} load balancer(s) could not move`, 2);
      });
    });

  const dlq = program
    .command('dlq')
    .description('dead-letter queues of the environment (requests and agents)');
  dlq
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (opts, command: Command) => {
      await withClient(command, async (client) => {
        const letters = await client.dlqList();
        if (opts.json) json(letters);
        else out(formatDeadLetters(letters));
      });
    });
  dlq
    .command('redrive')
    .description('send every dead letter back to the queue it came from')
    .action(async (_opts, command: Command) => {
      await withClient(command, async (client) => {
        const { redriven } = await client.dlqRedrive();
        out(`${redriven} message(s) redriven`);
      });
    });
  return program;
}

/** Runs the CLI; resolves with the exit code (never throws). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const e = error as Error & { code?: string | number; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : (e.exitCode ?? 1);
    }
    process.stderr.write(`lbaas: ${e.message.split('\n')[0]}\n`);
    return error instanceof CliExit ? error.code : 1;
  }
}
