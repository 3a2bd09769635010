import { randomUUID } from 'node:crypto';
import { type Command, Option } from 'commander';
import { policyPositions } from '../functions/domain/l7-policies.js';
import { RESOURCES, type ResourceType } from '../functions/domain/lbaas-request.js';
import type { Refusal } from '../functions/domain/ports.js';
import type { ResourceRecord } from '../functions/domain/resource-state.js';
import { CliExit, out, withClient } from './cli-support.js';
import { table } from './format.js';
import type { LbaasClient } from './lbaas-client.js';

/*
 * The load balancer resources in OpenStack's habits (`openstack loadbalancer member create
 * --address 10.0.0.5 --protocol-port 80 pool1` becomes `lbaas member create --address 10.0.0.5
 * --protocol-port 80 pool1`): Octavia's client's flags, names or ids wherever it takes names,
 * `--wait`, and `-f table|json|value` with `-c` columns. Each verb builds one request and submits it
 * like `lbaas submit`, so validation and errors are the same.
 */

interface Field {
  flag: string;
  field: string;
  help: string;
  kind?: 'int' | 'string' | 'list';
  choices?: readonly string[];
  /** Required on create. */
  required?: boolean;
}

const ADMIN = { flag: 'enable', field: 'admin_state_up', help: '' };

const FIELDS: Record<ResourceType, Field[]> = {
  loadbalancer: [
    { flag: 'vip-address', field: 'vip_address', help: 'VIP address', required: true },
    { flag: 'vip-subnet-id', field: 'vip_subnet_id', help: 'VIP subnet id' },
    { flag: 'name', field: 'name', help: 'name' },
    { flag: 'description', field: 'description', help: 'description' },
  ],
  listener: [
    {
      flag: 'protocol',
      field: 'protocol',
      help: 'protocol',
      choices: ['HTTP', 'HTTPS', 'TCP', 'TERMINATED_HTTPS', 'UDP'],
      required: true,
    },
    { flag: 'protocol-port', field: 'protocol_port', help: 'port', kind: 'int', required: true },
    { flag: 'connection-limit', field: 'connection_limit', help: 'connection limit (-1: none)', kind: 'int' },
    {
      flag: 'default-tls-container-ref',
      field: 'default_tls_container_ref',
      help: 'TERMINATED_HTTPS: the default certificate (lbaas cert import prints it)',
    },
    {
      flag: 'sni-container-refs',
      field: 'sni_container_refs',
      help: 'TERMINATED_HTTPS: certificates chosen by SNI',
      kind: 'list',
    },
    { flag: 'name', field: 'name', help: 'name' },
    { flag: 'description', field: 'description', help: 'description' },
  ],
  pool: [
    {
      flag: 'lb-algorithm',
      field: 'lb_algorithm',
      help: 'load balancing algorithm',
      choices: ['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP', 'SOURCE_IP_PORT'],
      required: true,
    },
    {
      flag: 'protocol',
      field: 'protocol',
      help: 'protocol',
      choices: ['HTTP', 'HTTPS', 'TCP', 'UDP', 'PROXY', 'PROXYV2'],
      required: true,
    },
    { flag: 'name', field: 'name', help: 'name' },
    { flag: 'description', field: 'description', help: 'description' },
  ],
  member: [
    { flag: 'address', field: 'address', help: 'member address', required: true },
    { flag: 'protocol-port', field: 'protocol_port', help: 'member port', kind: 'int', required: true },
    { flag: 'weight', field: 'weight', help: 'weight (0: drain)', kind: 'int' },
    { flag: 'subnet-id', field: 'subnet_id', help: 'subnet id' },
    { flag: 'name', field: 'name', help: 'name' },
  ],
  healthmonitor: [
    {
      flag: 'type',
      field: 'type',
      help: 'monitor type',
      choices: ['PING', 'TCP', 'HTTP', 'HTTPS', 'UDP-CONNECT'],
      required: true,
    },
    { flag: 'delay', field: 'delay', help: 'seconds between probes', kind: 'int', required: true },
    { flag: 'timeout', field: 'timeout', help: 'seconds a probe may take', kind: 'int', required: true },
    { flag: 'max-retries', field: 'max_retries', help: 'probes before ERROR', kind: 'int', required: true },
    { flag: 'max-retries-down', field: 'max_retries_down', help: 'probes before down', kind: 'int' },
    { flag: 'url-path', field: 'url_path', help: 'HTTP path' },
    { flag: 'http-method', field: 'http_method', help: 'HTTP method' },
    { flag: 'expected-codes', field: 'expected_codes', help: 'expected codes (200, 200-204, 200,202)' },
    { flag: 'name', field: 'name', help: 'name' },
  ],
  l7policy: [
    {
      flag: 'action',
      field: 'action',
      help: 'what a matching request gets',
      choices: ['REDIRECT_TO_POOL', 'REDIRECT_TO_URL', 'REDIRECT_PREFIX', 'REJECT'],
      required: true,
    },
    { flag: 'position', field: 'position', help: 'place in the listener’s list (1: first)', kind: 'int' },
    { flag: 'redirect-url', field: 'redirect_url', help: 'REDIRECT_TO_URL target' },
    { flag: 'redirect-prefix', field: 'redirect_prefix', help: 'REDIRECT_PREFIX target (the path is kept)' },
    {
      flag: 'redirect-http-code',
      field: 'redirect_http_code',
      help: 'redirect status (301, 302, 303, 307, 308)',
      kind: 'int',
    },
    { flag: 'name', field: 'name', help: 'name' },
    { flag: 'description', field: 'description', help: 'description' },
  ],
  l7rule: [
    {
      flag: 'type',
      field: 'type',
      help: 'what is compared',
      choices: ['HOST_NAME', 'PATH', 'FILE_TYPE', 'HEADER', 'COOKIE'],
      required: true,
    },
    {
      flag: 'compare-type',
      field: 'compare_type',
      help: 'how',
      choices: ['EQUAL_TO', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS', 'REGEX'],
      required: true,
    },
    { flag: 'value', field: 'value', help: 'the value compared with', required: true },
    { flag: 'key', field: 'key', help: 'header or cookie name (HEADER, COOKIE)' },
  ],
};

/** Columns of each listing (Octavia's client's, with ours where it has none). */
const COLUMNS: Record<ResourceType, string[]> = {
  loadbalancer: ['id', 'name', 'project_id', 'vip_address', 'provisioning_status', 'operating_status'],
  listener: ['id', 'name', 'protocol', 'protocol_port', 'provisioning_status', 'operating_status'],
  pool: ['id', 'name', 'lb_algorithm', 'protocol', 'provisioning_status', 'operating_status'],
  member: ['id', 'name', 'address', 'protocol_port', 'weight', 'provisioning_status', 'operating_status'],
  healthmonitor: [
    'id',
    'name',
    'type',
    'delay',
    'timeout',
    'max_retries',
    'provisioning_status',
    'operating_status',
  ],
  l7policy: ['id', 'name', 'action', 'position', 'listener_id', 'provisioning_status', 'operating_status'],
  l7rule: ['id', 'type', 'compare_type', 'key', 'value', 'invert', 'provisioning_status', 'operating_status'],
};

/** Children named under their parent on the command line (`<pool> <member>`, `<l7policy> <l7rule>`). */
const CHILD_OF: Partial<Record<ResourceType, { type: ResourceType; field: string }>> = {
  member: { type: 'pool', field: 'pool_id' },
  l7rule: { type: 'l7policy', field: 'l7policy_id' },
};

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An object as a row of fields (Octavia's names); an L7 policy's position is its place in the list now. */
function view(r: ResourceRecord, positions?: Map<string, number>): Record<string, unknown> {
  const { rank: _rank, ...desired } = r.desired as unknown as Record<string, unknown>;
  return {
    id: r.id,
    ...desired,
    ...(positions?.has(r.id) ? { position: positions.get(r.id) } : {}),
    project_id: r.tenantId,
    ...(r.type === 'loadbalancer' ? {} : { loadbalancer_id: r.loadbalancerId }),
    provisioning_status: r.provisioningStatus,
    operating_status: r.operatingStatus,
    ...(r.statusReason ? { status_reason: r.statusReason } : {}),
    created_at: new Date(r.createdAt).toISOString(),
    updated_at: new Date(r.updatedAt).toISOString(),
  };
}

const cell = (v: unknown) =>
  v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** `-f table|json|value` and `-c` columns, like the OpenStack client. */
function printRows(
  rows: Record<string, unknown>[],
  opts: { format: string; column?: string[] },
  one: boolean,
): void {
  const columns = opts.column?.length ? opts.column : undefined;
  const pick = (r: Record<string, unknown>, cols: string[]) => Object.fromEntries(cols.map((c) => [c, r[c]]));
  if (one) {
    const r = rows[0] ?? {};
    const shown = columns ? pick(r, columns) : r;
    if (opts.format === 'json') out(JSON.stringify(shown, null, 2));
    else if (opts.format === 'value') out(Object.values(shown).map(cell).join('\n'));
    else
      out(
        table(
          ['Field', 'Value'],
          Object.entries(shown).map(([k, v]) => [k, cell(v)]),
        ),
      );
    return;
  }
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const picked = rows.map((r) => pick(r, cols));
  if (opts.format === 'json') out(JSON.stringify(picked, null, 2));
  else if (opts.format === 'value') out(picked.map((r) => Object.values(r).map(cell).join(' ')).join('\n'));
  else
    out(
      table(
        cols,
        picked.map((r) => cols.map((c) => cell(r[c]))),
      ),
    );
}

function outputOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-f, --format <format>', 'output format')
        .choices(['table', 'json', 'value'])
        .default('table'),
    )
    .addOption(
      // One column per -c, repeatable (as OpenStack's client): a variadic option would swallow the
      // positional arguments after it.
      new Option('-c, --column <name>', 'a column to show (repeat -c for more)').argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    );
}

function fieldOptions(command: Command, type: ResourceType, creating = false): Command {
  for (const f of FIELDS[type]) {
    const option = new Option(
      `--${f.flag} <${f.kind === 'int' ? 'n' : f.kind === 'list' ? 'value...' : 'value'}>`,
      creating && f.required ? `${f.help} (required)` : f.help,
    );
    command.addOption(f.choices ? option.choices([...f.choices]) : option);
  }
  if (type === 'l7rule')
    command
      .option('--invert', 'match when the comparison fails')
      .option('--no-invert', 'match when it holds');
  return command
    .addOption(new Option('--enable', 'administratively up (the default)').conflicts('disable'))
    .option('--disable', 'administratively down');
}

/** The positions of the L7 policies among records, as their listeners order them. */
async function positionsFor(client: LbaasClient, records: readonly ResourceRecord[]) {
  const out = new Map<string, number>();
  const lbs = new Set(records.filter((r) => r.type === 'l7policy').map((r) => r.loadbalancerId));
  for (const lb of lbs) {
    const all = await client.records(lb);
    const listeners = new Set(
      all.filter((r) => r.type === 'l7policy').map((r) => (r.desired as { listener_id: string }).listener_id),
    );
    for (const listener of listeners) for (const [id, p] of policyPositions(all, listener)) out.set(id, p);
  }
  return out;
}

/** The object fields a verb's flags set; on create, a missing required flag names itself and what it takes. */
function objectFrom(
  type: ResourceType,
  opts: Record<string, unknown>,
  creating: boolean,
): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const f of FIELDS[type]) {
    const key = f.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = opts[key];
    if (raw === undefined) {
      if (creating && f.required)
        throw new CliExit(
          `--${f.flag} is required (${f.help}${f.choices ? `: one of ${f.choices.join(', ')}` : ''})`,
        );
      continue;
    }
    if (f.kind === 'int') {
      const n = Number(raw);
      if (!Number.isInteger(n))
        throw new CliExit(`--${f.flag} takes a whole number, not ${JSON.stringify(raw)}`);
      object[f.field] = n;
    } else if (f.kind === 'list') object[f.field] = (raw as string[]).map(String);
    else object[f.field] = String(raw);
  }
  if (opts.enable) object[ADMIN.field] = true;
  if (opts.disable) object[ADMIN.field] = false;
  if (type === 'l7rule' && opts.invert !== undefined) object.invert = opts.invert === true;
  return object;
}

/** Finds one object by id or by name (names resolve inside the project when one is given). */
export async function find(
  client: LbaasClient,
  type: ResourceType,
  ref: string,
  tenantId?: string,
): Promise<ResourceRecord> {
  const env = client.target.env;
  if (UUID_RE.test(ref)) {
    const id = ref.toLowerCase();
    if (type === 'loadbalancer') {
      const root = (await client.records(id)).find((r) => r.type === 'loadbalancer');
      if (root) return root;
    } else {
      const where = await client.resourceStore.locate(env, id);
      const found = where
        ? (await client.records(where.loadbalancerId)).find((r) => r.type === type && r.id === id)
        : undefined;
      if (found) return found;
    }
  }
  const page = await client.resourceStore.listObjects(env, type, {
    name: ref,
    limit: 10,
    ...(tenantId ? { tenantId } : {}),
  });
  const named = page.items.filter((r) => (r.desired as { name?: string }).name === ref);
  if (named.length === 1) return named[0] as ResourceRecord;
  if (named.length > 1)
    throw new CliExit(
      `${named.length} ${type}s are named ${ref} (${named.map((r) => r.id).join(', ')}): use an id`,
    );
  await refusedInstead(client, type, ref);
  throw new CliExit(
    `no ${type} with id or name ${ref} in environment ${env}${tenantId ? `, project ${tenantId}` : ''}`,
  );
}

/** An object that does not exist because its request was refused: says so, and why. */
async function refusedInstead(client: LbaasClient, type: ResourceType, ref: string): Promise<void> {
  if (!UUID_RE.test(ref)) return;
  const refusal = await client.lastRefusal(ref);
  if (refusal && refusal.resource === type)
    throw new CliExit(refusalMessage(type, ref.toLowerCase(), refusal));
}

/** `listener 5e6f… was refused (request 0b6f…, create, 2026-…): <reason>`. */
function refusalMessage(type: string, id: string, refusal: Refusal): string {
  const what = [refusal.requestId, refusal.operation, new Date(refusal.refusedAt).toISOString()].filter(
    Boolean,
  );
  return `${type} ${id} was refused (request ${what.join(', ')}): ${refusal.reason}`;
}

/**
 * Submits one request; with --wait, waits until it took effect and prints the object as it ended
 * (`create` prints it either way). A refusal ends the wait at once: exit 3 with the reason; an
 * object in ERROR: exit 2 after it is printed.
 */
async function submitAndMaybeWait(
  client: LbaasClient,
  message: Record<string, unknown>,
  opts: { wait?: boolean; waitTimeout?: string; format?: string; column?: string[] },
  print: 'always' | 'when-waited' = 'when-waited',
): Promise<void> {
  const sent = await client.submit(message);
  process.stderr.write(`submitted ${sent.requestId}\n`);
  let records: ResourceRecord[] | undefined;
  if (opts.wait) {
    const waited = await client.wait(sent.loadbalancerId, {
      requests: [sent],
      timeoutMs: Number(opts.waitTimeout ?? 300) * 1000,
    });
    const refusal = waited.refused[0];
    if (refusal) throw new CliExit(refusalMessage(sent.resource, sent.objectId, refusal), 3);
    records = waited.records;
  } else if (print === 'always') records = await client.records(sent.loadbalancerId);
  if (!records) return;
  const own = records.find((r) => r.type === sent.resource && r.id === sent.objectId);
  const row = own
    ? view(own, await positionsFor(client, [own]))
    : {
        id: sent.objectId,
        provisioning_status:
          sent.operation === 'delete' ? 'DELETED' : `PENDING_${sent.operation.toUpperCase()}`,
      };
  printRows([row], { format: opts.format ?? 'table', ...(opts.column ? { column: opts.column } : {}) }, true);
  if (own?.provisioningStatus === 'ERROR')
    throw new CliExit(`${sent.resource} ${sent.objectId} is in ERROR: ${own.statusReason ?? ''}`, 2);
}

/** Where a new child goes: its load balancer and project, from the parent named on the command line. */
async function parentOf(
  client: LbaasClient,
  type: ResourceType,
  opts: Record<string, unknown>,
  positional: string | undefined,
): Promise<{ loadbalancerId: string; tenantId: string; extra: Record<string, unknown> }> {
  const tenant = opts.project as string | undefined;
  if (type === 'listener') {
    const lb = await find(client, 'loadbalancer', String(positional), tenant);
    const extra: Record<string, unknown> = {};
    if (opts.defaultPool)
      extra.default_pool_id = (await find(client, 'pool', String(opts.defaultPool), lb.tenantId)).id;
    return { loadbalancerId: lb.id, tenantId: lb.tenantId, extra };
  }
  if (type === 'pool') {
    if (opts.listener) {
      const l = await find(client, 'listener', String(opts.listener), tenant);
      return { loadbalancerId: l.loadbalancerId, tenantId: l.tenantId, extra: { listener_id: l.id } };
    }
    if (!opts.loadbalancer) throw new CliExit('give --listener or --loadbalancer (where the pool goes)');
    const lb = await find(client, 'loadbalancer', String(opts.loadbalancer), tenant);
    return { loadbalancerId: lb.id, tenantId: lb.tenantId, extra: {} };
  }
  if (type === 'l7policy') {
    const l = await find(client, 'listener', String(positional), tenant);
    const extra: Record<string, unknown> = { listener_id: l.id };
    if (opts.redirectPool)
      extra.redirect_pool_id = (await find(client, 'pool', String(opts.redirectPool), l.tenantId)).id;
    return { loadbalancerId: l.loadbalancerId, tenantId: l.tenantId, extra };
  }
  if (type === 'l7rule') {
    const p = await find(client, 'l7policy', String(positional), tenant);
    return { loadbalancerId: p.loadbalancerId, tenantId: p.tenantId, extra: { l7policy_id: p.id } };
  }
  // member, healthmonitor: under a pool
  const pool = await find(client, 'pool', String(positional), tenant);
  return { loadbalancerId: pool.loadbalancerId, tenantId: pool.tenantId, extra: { pool_id: pool.id } };
}

const PARENT_ARG: Partial<Record<ResourceType, string>> = {
  listener: '<loadbalancer>',
  member: '<pool>',
  healthmonitor: '<pool>',
  l7policy: '<listener>',
  l7rule: '<l7policy>',
};

function resourceCommand(program: Command, type: ResourceType): void {
  const group = program
    .command(type)
    .description(`${type} create | set | delete | list | show (OpenStack style)`);
  const waitOptions = (c: Command) =>
    c
      .option(
        '--wait',
        'wait until it took effect and print it; exit 2 if it ends in ERROR, 3 if it is refused',
      )
      .option('--wait-timeout <seconds>', 'with --wait: give up after', '300');

  // create
  const create = group
    .command(`create${PARENT_ARG[type] ? ` ${PARENT_ARG[type]}` : ''}`)
    .description(`create a ${type}`)
    .option(
      '--project <id>',
      type === 'loadbalancer' ? 'project (tenant) id (required)' : 'resolve names inside this project',
    );
  if (type === 'pool')
    create
      .option('--listener <listener>', 'the listener it serves (this or --loadbalancer is required)')
      .option('--loadbalancer <lb>', 'its load balancer (when it serves no listener yet)');
  if (type === 'listener')
    create
      .option('--default-pool <pool>', 'its default pool')
      .option('--insert-headers <spec>', 'X-Forwarded-For=true,X-Forwarded-Port=true,X-Forwarded-Proto=true');
  if (type === 'l7policy') create.option('--redirect-pool <pool>', 'REDIRECT_TO_POOL target');
  if (type === 'pool')
    create.option('--session-persistence <spec>', 'type=SOURCE_IP|HTTP_COOKIE|APP_COOKIE[,cookie_name=NAME]');
  fieldOptions(create, type, true);
  waitOptions(outputOptions(create)).action(async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = command.opts();
    const positional = PARENT_ARG[type] ? String(args[0]) : undefined;
    const object: Record<string, unknown> & { id: string } = {
      id: randomUUID(),
      ...objectFrom(type, opts, true),
    };
    if (type === 'pool' && opts.sessionPersistence)
      object.session_persistence = persistence(String(opts.sessionPersistence));
    if (type === 'listener' && opts.insertHeaders)
      object.insert_headers = keyValues('insert-headers', String(opts.insertHeaders));
    await withClient(command, async (client) => {
      let where: { loadbalancerId: string; tenantId: string };
      if (type === 'loadbalancer') {
        if (!opts.project)
          throw new CliExit('--project is required: the project (tenant) the load balancer belongs to');
        where = { loadbalancerId: object.id, tenantId: String(opts.project) };
      } else {
        const parent = await parentOf(client, type, opts, positional);
        Object.assign(object, parent.extra);
        where = { loadbalancerId: parent.loadbalancerId, tenantId: parent.tenantId };
      }
      await submitAndMaybeWait(
        client,
        { operation: 'create', resource: type, ...where, object },
        opts,
        'always',
      );
    });
  });

  // set
  const set = group
    .command(CHILD_OF[type] ? `set <${CHILD_OF[type].type}> <${type}>` : `set <${type}>`)
    .description(`change a ${type}`)
    .option('--project <id>', 'resolve names inside this project');
  if (type === 'listener')
    set
      .option('--default-pool <pool>', 'its default pool')
      .option('--insert-headers <spec>', 'X-Forwarded-For=true,X-Forwarded-Port=false,…');
  if (type === 'l7policy') set.option('--redirect-pool <pool>', 'REDIRECT_TO_POOL target');
  fieldOptions(set, type);
  outputOptions(set);
  const request = (
    operation: 'update' | 'delete',
    target: ResourceRecord,
    object: Record<string, unknown>,
  ) => ({
    operation,
    resource: type,
    loadbalancerId: target.loadbalancerId,
    tenantId: target.tenantId,
    object,
  });
  waitOptions(set).action(
    onObject(type, async (client, target, opts) => {
      const object: Record<string, unknown> = { id: target.id, ...objectFrom(type, opts, false) };
      if (type === 'listener' && opts.defaultPool)
        object.default_pool_id = (await find(client, 'pool', String(opts.defaultPool), target.tenantId)).id;
      if (type === 'listener' && opts.insertHeaders)
        object.insert_headers = keyValues('insert-headers', String(opts.insertHeaders));
      if (type === 'l7policy' && opts.redirectPool)
        object.redirect_pool_id = (await find(client, 'pool', String(opts.redirectPool), target.tenantId)).id;
      if (Object.keys(object).length === 1)
        throw new CliExit('nothing to change: give at least one field flag');
      await submitAndMaybeWait(client, request('update', target, object), opts);
    }),
  );

  // delete
  waitOptions(
    outputOptions(
      group
        .command(CHILD_OF[type] ? `delete <${CHILD_OF[type].type}> <${type}>` : `delete <${type}>`)
        .description(`delete a ${type}`)
        .option('--project <id>', 'resolve names inside this project'),
    ),
  ).action(
    onObject(type, (client, target, opts) =>
      submitAndMaybeWait(client, request('delete', target, { id: target.id }), opts),
    ),
  );

  // show
  outputOptions(
    group
      .command(CHILD_OF[type] ? `show <${CHILD_OF[type].type}> <${type}>` : `show <${type}>`)
      .description(`show a ${type}`)
      .option('--project <id>', 'resolve names inside this project'),
  ).action(
    onObject(type, async (client, target, opts) =>
      printRows([view(target, await positionsFor(client, [target]))], opts as never, true),
    ),
  );

  // list
  const list = group
    .command(CHILD_OF[type] ? `list <${CHILD_OF[type].type}>` : 'list')
    .description(`list ${type}s`)
    .option('--project <id>', 'only this project')
    .option('--name <name>', 'only this name')
    .option('--provisioning-status <status>', 'only this provisioning status')
    .option('--operating-status <status>', 'only this operating status')
    .option('--limit <n>', 'page size', '100')
    .option('--marker <cursor>', 'the page after this cursor (printed after a full page)');
  if (type === 'loadbalancer') list.option('--agent <host>', 'only those bound to this agent');
  if (type === 'listener' || type === 'pool') list.option('--loadbalancer <lb>', 'only this load balancer');
  if (type === 'healthmonitor') list.option('--pool <pool>', 'only this pool');
  if (type === 'l7policy') list.option('--listener <listener>', 'only this listener');
  outputOptions(list).action(async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = command.opts();
    await withClient(command, async (client) => {
      const { items, cursor } = await listing(
        client,
        type,
        opts,
        CHILD_OF[type] ? String(args[0]) : undefined,
      );
      const positions = await positionsFor(client, items);
      const rows = items
        .filter((r) => !opts.provisioningStatus || r.provisioningStatus === opts.provisioningStatus)
        .filter((r) => !opts.operatingStatus || r.operatingStatus === opts.operatingStatus)
        .map((r) => view(r, positions))
        // A listener's policies in their order (first match first).
        .sort((a, b) =>
          type === 'l7policy'
            ? String(a.listener_id).localeCompare(String(b.listener_id)) ||
              Number(a.position) - Number(b.position)
            : 0,
        );
      printRows(rows, { format: opts.format, column: opts.column ?? COLUMNS[type] }, false);
      if (cursor) process.stderr.write(`more: --marker ${cursor}\n`);
    });
  });
}

/** An action on the object a verb names (`<ref>`, or `<pool> <member>`), with a client. */
function onObject(
  type: ResourceType,
  fn: (client: LbaasClient, target: ResourceRecord, opts: Record<string, unknown>) => Promise<void>,
) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = command.opts();
    await withClient(command, async (client) =>
      fn(client, await locateArgs(client, type, args, opts.project as string | undefined), opts),
    );
  };
}

/** The object a set/delete/show names: `<ref>`, or for children `<pool> <member>`, `<l7policy> <l7rule>`. */
async function locateArgs(client: LbaasClient, type: ResourceType, args: unknown[], tenant?: string) {
  const parent = CHILD_OF[type];
  if (!parent) return find(client, type, String(args[0]), tenant);
  const holder = await find(client, parent.type, String(args[0]), tenant);
  const ref = String(args[1]);
  const children = (await client.records(holder.loadbalancerId)).filter(
    (r) => r.type === type && (r.desired as Record<string, unknown>)[parent.field] === holder.id,
  );
  const found = children.filter(
    (m) => m.id === ref.toLowerCase() || (m.desired as { name?: string }).name === ref,
  );
  if (found.length === 1) return found[0] as ResourceRecord;
  if (found.length === 0) await refusedInstead(client, type, ref);
  throw new CliExit(
    found.length > 1
      ? `${found.length} ${type}s of ${parent.type} ${args[0]} are named ${ref}: use an id`
      : `${parent.type} ${args[0]} has no ${type} ${ref}`,
  );
}

/** One page of a listing: through the by-type index, or a parent's records when one is named. */
async function listing(
  client: LbaasClient,
  type: ResourceType,
  opts: Record<string, unknown>,
  parentRef: string | undefined,
): Promise<{ items: ResourceRecord[]; cursor: string | undefined }> {
  const tenant = opts.project as string | undefined;
  const limit = Number(opts.limit ?? 100);
  if (!Number.isInteger(limit) || limit < 1) throw new CliExit('--limit takes a whole number of at least 1');
  const within = async (lbRef: string, keep: (r: ResourceRecord) => boolean) => {
    const lb = await find(client, 'loadbalancer', lbRef, tenant);
    return {
      items: (await client.records(lb.id)).filter((r) => r.type === type && keep(r)),
      cursor: undefined,
    };
  };
  const parent = CHILD_OF[type];
  if (parent && parentRef) {
    const p = await find(client, parent.type, parentRef, tenant);
    return within(p.loadbalancerId, (r) => (r.desired as Record<string, unknown>)[parent.field] === p.id);
  }
  if (type === 'l7policy' && opts.listener) {
    const l = await find(client, 'listener', String(opts.listener), tenant);
    return within(l.loadbalancerId, (r) => (r.desired as { listener_id: string }).listener_id === l.id);
  }
  if (type === 'healthmonitor' && opts.pool) {
    const p = await find(client, 'pool', String(opts.pool), tenant);
    return within(p.loadbalancerId, (r) => (r.desired as { pool_id: string }).pool_id === p.id);
  }
  if ((type === 'listener' || type === 'pool') && opts.loadbalancer)
    return within(String(opts.loadbalancer), () => true);
  if (type === 'loadbalancer' && opts.agent) {
    const page = await client.operations.listOnAgent(client.target.env, String(opts.agent), {
      limit,
      ...(opts.marker ? { cursor: String(opts.marker) } : {}),
    });
    const roots = await Promise.all(
      page.items
        .filter((b) => !tenant || b.tenantId === tenant)
        .map(async (b) => (await client.records(b.loadbalancerId)).find((r) => r.type === 'loadbalancer')),
    );
    return { items: roots.filter((r): r is ResourceRecord => r !== undefined), cursor: page.cursor };
  }
  return client.resourceStore.listObjects(client.target.env, type, {
    limit,
    ...(tenant ? { tenantId: tenant } : {}),
    ...(opts.name ? { name: String(opts.name) } : {}),
    ...(opts.marker ? { cursor: String(opts.marker) } : {}),
  });
}

/** `a=1,b=2` → `{a: '1', b: '2'}`, naming the flag when a part is not key=value. */
function keyValues(flag: string, spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const [k, v] = part.split('=');
    if (!k || v === undefined) throw new CliExit(`--${flag}: ${JSON.stringify(part)} is not key=value`);
    out[k.trim()] = v.trim();
  }
  return out;
}

/** `type=APP_COOKIE,cookie_name=sid` → Octavia's session_persistence object. */
function persistence(spec: string): Record<string, string> {
  const out = keyValues('session-persistence', spec);
  if (!out.type) throw new CliExit('--session-persistence needs type=SOURCE_IP|HTTP_COOKIE|APP_COOKIE');
  return out;
}

/** `lbaas loadbalancer|listener|pool|member|healthmonitor|l7policy|l7rule create|set|delete|list|show`. */
export function addResourceCommands(program: Command): void {
  for (const type of RESOURCES) resourceCommand(program, type);
}
