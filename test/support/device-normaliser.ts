import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A device that reads back otherwise than it was written, between the agent and a simulated unit:
 * an HTTP proxy that rewrites the JSON of every configuration GET (`/mgmt/tm/ltm/…`, stats excepted)
 * the way devices do and worse. It adds defaults, reorders lists, changes representations (booleans
 * as strings and strings as booleans, numbers as strings, a pool's monitor as an availability rule,
 * a cookie profile's parent without its partition, a virtual address's IPv6 in capitals), adds `caseInsensitive` to every
 * condition and reads every action's `code` as 0, adds references, and changes what a device changes
 * by itself on every read (`generation`, `?ver=` in links, a member's health: `state` and
 * `session: monitor-enabled`). Everything but those last is a fixed function of what the unit holds,
 * as a device's reading is: the same configuration reads back the same.
 *
 * A write made on its own (not enlisted in a transaction) is answered with the object in the same
 * form as a read shows it, as a device answers (`answers: 'as-read'`), or, to stand for a device
 * whose answers differ from its reads, as the unit answered it (`'raw'`).
 *
 * Used only by the convergence property tests (issue 31, part 1): the agent must converge on such a
 * device without knowing any of these rules. Every other call passes through untouched.
 */
export interface DeviceNormaliser {
  /** The base URL the agent is given instead of the unit's. */
  url: string;
  /** Configuration GETs and write answers rewritten so far. */
  rewritten: number;
  /** How writes made on their own are answered (default: as a read shows the object). */
  answers: 'as-read' | 'raw';
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const reversed = (list: unknown) => (Array.isArray(list) ? [...list].reverse() : list);
const asString = (v: unknown) => (typeof v === 'boolean' || typeof v === 'number' ? String(v) : v);
const ipv6Upper = (v: unknown) => (typeof v === 'string' && v.includes(':') ? v.toUpperCase() : v);

/** Every flag of an object (`true`/`false`) as the strings a careless representation would give. */
function flagsAsStrings(o: Json): void {
  for (const [k, v] of Object.entries(o))
    if (typeof v === 'boolean' && k !== 'isSubcollection') o[k] = String(v);
}

function items(o: Json, reference: string): Json[] | undefined {
  const ref = o[reference] as { items?: Json[] } | undefined;
  return Array.isArray(ref?.items) ? ref.items : undefined;
}

function reverseItems(o: Json, reference: string): void {
  const ref = o[reference] as { items?: Json[] } | undefined;
  if (ref && Array.isArray(ref.items)) ref.items = [...ref.items].reverse();
}

/** What the normaliser does to one object of a configuration body, by its `kind`. */
function normaliseObject(o: Json, read: number): void {
  const kind = typeof o.kind === 'string' ? o.kind : '';
  if (kind === 'tm:ltm:virtual:virtualstate') {
    flagsAsStrings(o);
    o.connectionLimit = asString(o.connectionLimit);
    o.persist = reversed(o.persist);
    reverseItems(o, 'profilesReference');
    reverseItems(o, 'policiesReference');
    o.sourceAddressTranslation = { ...(o.sourceAddressTranslation as Json), pool: 'none' };
    o.rateLimitDstMask = 0;
    o.hardwareSynCookieInstances = 0;
  } else if (kind === 'tm:ltm:pool:poolstate') {
    // An availability rule around the monitor (how a device shows "min N of"), and a reference to it.
    if (typeof o.monitor === 'string' && o.monitor.trim() !== '' && o.monitor.trim() !== 'none') {
      o.monitorReference = { link: `https://localhost/mgmt/tm/ltm/monitor?ver=x` };
      o.monitor = `min 1 of { ${o.monitor.trim()} }`;
    }
    o.slowRampTime = asString(o.slowRampTime ?? 10);
    reverseItems(o, 'membersReference');
  } else if (kind === 'tm:ltm:pool:members:membersstate') {
    o.ratio = asString(o.ratio);
    // Health, not configuration: it changes from one read to the next.
    if (o.session === 'monitor-enabled' || o.session === 'user-enabled')
      o.session = read % 2 === 0 ? 'monitor-enabled' : 'user-enabled';
    o.state = ['up', 'down', 'checking', 'unchecked'][read % 4];
  } else if (kind === 'tm:ltm:virtual-address:virtual-addressstate') {
    o.enabled = o.enabled === 'yes' ? true : o.enabled === 'no' ? false : o.enabled;
    o.autoDelete = o.autoDelete === 'true' ? true : o.autoDelete === 'false' ? false : o.autoDelete;
    o.address = ipv6Upper(o.address);
    o.icmpEcho = 'enabled';
  } else if (kind.startsWith('tm:ltm:monitor:')) {
    o.interval = asString(o.interval);
    o.timeout = asString(o.timeout);
    o.adaptive = 'disabled';
    o.destination = o.destination ?? '*:*';
  } else if (kind === 'tm:ltm:persistence:cookie:cookiestate') {
    o.defaultsFrom =
      typeof o.defaultsFrom === 'string' ? o.defaultsFrom.replace(/^\/Common\//, '') : o.defaultsFrom;
    o.alwaysSend = 'disabled';
  } else if (kind === 'tm:ltm:policy:policystate') {
    o.requires = reversed(o.requires);
    o.controls = reversed(o.controls);
    reverseItems(o, 'rulesReference');
    o.lastModified = `read ${read}`;
  } else if (kind === 'tm:ltm:policy:rules:rulesstate') {
    reverseItems(o, 'conditionsReference');
    reverseItems(o, 'actionsReference');
  } else if (kind === 'tm:ltm:policy:rules:conditions:conditionsstate') {
    o.caseInsensitive = true;
    o.all = true;
    o.values = reversed(o.values);
    flagsAsStrings(o);
  } else if (kind === 'tm:ltm:policy:rules:actions:actionsstate') {
    o.code = 0;
    o.select = true;
    if (typeof o.pool === 'string') o.poolReference = { link: `https://localhost/mgmt/tm/ltm/pool?ver=x` };
    flagsAsStrings(o);
  }
  for (const ref of ['rulesReference', 'conditionsReference', 'actionsReference', 'membersReference'])
    for (const item of items(o, ref) ?? []) normaliseObject(item, read);
  for (const ref of ['profilesReference', 'policiesReference'])
    for (const item of items(o, ref) ?? []) item.generation = read;
}

/** What changes on every read: `generation` and the version in every link. */
function volatile(value: unknown, read: number): unknown {
  if (Array.isArray(value)) return value.map((v) => volatile(v, read));
  if (value && typeof value === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(value as Json))
      out[k] = k === 'generation' ? 1000 + read : volatile(v, read);
    return out;
  }
  if (typeof value === 'string' && value.includes('?ver='))
    return value.replace(/\?ver=[^&"]*/, `?ver=x.${read}`);
  return value;
}

/** One configuration body as the normalising device reads it back. */
export function normaliseBody(body: unknown, read: number): unknown {
  const copy = structuredClone(body) as Json;
  if (copy && typeof copy === 'object') {
    if (Array.isArray(copy.items)) for (const item of copy.items as Json[]) normaliseObject(item, read);
    else normaliseObject(copy, read);
  }
  return volatile(copy, read);
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts a normalising device in front of the unit at `target` (the simulator's base URL). */
export async function startDeviceNormaliser(target: string): Promise<DeviceNormaliser> {
  const state = { rewritten: 0, answers: 'as-read' as DeviceNormaliser['answers'] };
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res: ServerResponse) => {
    void (async () => {
      const body = await bodyOf(req);
      const forwarded = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          agent,
        },
        async (answer) => {
          const raw = await bodyOf(answer);
          const path = (req.url ?? '').split('?')[0] ?? '';
          const ownWrite =
            ['POST', 'PATCH', 'PUT'].includes(req.method ?? '') &&
            req.headers['x-f5-rest-coordination-id'] === undefined &&
            state.answers === 'as-read';
          const rewrite =
            (req.method === 'GET' || ownWrite) &&
            answer.statusCode === 200 &&
            path.startsWith('/mgmt/tm/ltm/') &&
            !path.endsWith('/stats') &&
            String(answer.headers['content-type'] ?? '').includes('json');
          const headers = { ...answer.headers };
          let out = raw;
          if (rewrite) {
            state.rewritten += 1;
            out = Buffer.from(
              JSON.stringify(normaliseBody(JSON.parse(raw.toString('utf8')), state.rewritten)),
            );
            delete headers['content-length'];
            headers['content-length'] = String(out.length);
          }
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(out);
        },
      );
      forwarded.on('error', (error) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 502, message: `normaliser: ${error.message}` }));
      });
      forwarded.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get rewritten() {
      return state.rewritten;
    },
    get answers() {
      return state.answers;
    },
    set answers(mode) {
      state.answers = mode;
    },
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
