import { randomInt } from 'node:crypto';
import { errors } from './error-bodies.js';
import { type Reply, reply } from './http-io.js';
import type { ConfigStore } from './ltm-model.js';
import { SimError } from './ltm-types.js';

export interface EnlistedCommand {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

interface Transaction {
  id: string;
  commands: EnlistedCommand[];
  lastActivity: number;
  timeoutSeconds: number;
  state: 'STARTED' | 'COMPLETED' | 'FAILED';
}

/** Runs one configuration command against a store (the device's, or a transaction's working copy). */
export type CommandRunner = (store: ConfigStore, command: EnlistedCommand) => unknown;

/**
 * iControl REST transactions (`/mgmt/tm/transaction`): create, enlist with
 * `X-F5-REST-Coordination-Id`, list commands, delete, and commit with `{"state":"VALIDATING"}`,
 * which applies every command to a copy of the configuration and swaps it in only if all succeed.
 */
export class Transactions {
  private readonly open = new Map<string, Transaction>();

  constructor(
    private readonly clock: () => number,
    private readonly timeoutSeconds: number,
    private readonly version: string,
  ) {}

  /** Adds a command to a live transaction; the reply is the command as enlisted (device-facts.md §4.1). */
  enlist(id: string, command: EnlistedCommand): Reply {
    const tx = this.live(id);
    if (!tx) return reply(404, errors.transactionNotFound(id));
    if (command.method === 'PATCH' && Object.keys(command.body).length === 0)
      return reply(400, errors.emptyPatch());
    tx.commands.push(command);
    tx.lastActivity = this.clock();
    return reply(200, this.commandBody(tx, tx.commands.length));
  }

  /**
   * `/mgmt/tm/transaction[/<id>[/commands]]`. `store` is the device's; `run` executes one command;
   * `changed` is told when a commit changed the configuration.
   */
  route(
    method: string,
    tm: string,
    body: Record<string, unknown>,
    device: { store: ConfigStore; run: CommandRunner; changed: () => void },
  ): Reply {
    const [, id, sub] = tm.split('/');
    if (!id) {
      if (method !== 'POST') return reply(405, errors.methodNotAllowed(method));
      // Time-based like a device's, and never one that is still open (concurrent clients in one millisecond).
      let txId = String(this.clock() * 1000 + randomInt(1000));
      while (this.open.has(txId)) txId = String(Number(txId) + 1);
      const tx: Transaction = {
        id: txId,
        commands: [],
        lastActivity: this.clock(),
        timeoutSeconds: this.timeoutSeconds,
        state: 'STARTED',
      };
      this.open.set(tx.id, tx);
      return reply(200, this.body(tx));
    }
    const tx = this.live(id);
    if (!tx) return reply(404, errors.transactionNotFound(id));
    if (method === 'GET') {
      if (sub === 'commands') {
        return reply(200, {
          kind: 'tm:transaction:commandscollectionstate',
          selfLink: `https://localhost/mgmt/tm/transaction/${tx.id}/commands?ver=${this.version}`,
          items: tx.commands.map((_, i) => this.commandBody(tx, i + 1)),
        });
      }
      return reply(200, this.body(tx));
    }
    if (method === 'DELETE') {
      this.open.delete(id);
      return reply(200, {});
    }
    if (method === 'PATCH' && body.state === 'VALIDATING') return this.commit(tx, body, device);
    return reply(400, errors.invalidValue('unsupported transaction change'));
  }

  private commit(
    tx: Transaction,
    body: Record<string, unknown>,
    { store, run, changed }: { store: ConfigStore; run: CommandRunner; changed: () => void },
  ): Reply {
    if (tx.state !== 'STARTED') return reply(400, errors.invalidValue(`transaction ${tx.id} is ${tx.state}`));
    if (tx.commands.length === 0) return reply(400, errors.transactionEmpty());
    const copy = store.clone();
    try {
      // §4.2: validated as a whole, not replayed in enlist order (F5's own example enlists
      // virtual → member → pool); dependency order stands in for mcpd's deferred checks.
      for (const c of inDependencyOrder(tx.commands)) run(copy, c);
    } catch (error) {
      if (!(error instanceof SimError)) throw error;
      tx.state = 'FAILED';
      this.open.delete(tx.id);
      return reply(400, errors.transactionFailed(error.message));
    }
    if (body.validateOnly !== true) {
      store.replaceWith(copy);
      changed();
    }
    tx.state = 'COMPLETED';
    this.open.delete(tx.id);
    return reply(200, this.body(tx));
  }

  /** How many commands a live transaction holds (what its commit will cost). */
  size(id: string): number | undefined {
    return this.live(id)?.commands.length;
  }

  private live(id: string): Transaction | undefined {
    const tx = this.open.get(id);
    if (!tx) return undefined;
    if (this.clock() - tx.lastActivity > tx.timeoutSeconds * 1000) {
      this.open.delete(id);
      return undefined;
    }
    return tx;
  }

  private commandBody(tx: Transaction, n: number) {
    const c = tx.commands[n - 1] as EnlistedCommand;
    return {
      method: c.method,
      uri: `https://localhost/mgmt/tm/${c.path}`,
      body: c.body,
      evalOrder: n,
      commandId: n,
      kind: 'tm:transaction:commandsstate',
      selfLink: `https://localhost/mgmt/tm/transaction/${tx.id}/commands/${n}?ver=${this.version}`,
    };
  }

  private body(tx: Transaction, evalOrder?: number) {
    return {
      transId: Number(tx.id),
      state: tx.state,
      timeoutSeconds: tx.timeoutSeconds,
      asyncExecution: false,
      validateOnly: false,
      executionTimeout: 300,
      executionTime: 0,
      failureReason: '',
      ...(evalOrder !== undefined ? { evalOrder } : {}),
      kind: 'tm:transactionstate',
      selfLink: `https://localhost/mgmt/tm/transaction/${tx.id}?ver=${this.version}`,
    };
  }
}

const RANKS: [RegExp, number][] = [
  [/^sys\/folder/, 0],
  [/^ltm\/(monitor|persistence|profile)\//, 1],
  [/^ltm\/node/, 2],
  [/^ltm\/pool\/[^/]+\/members/, 4],
  [/^ltm\/pool/, 3],
  // bigip-rest.md A.3: rule before virtual address and virtual server.
  [/^ltm\/rule/, 4.5],
  [/^ltm\/virtual-address/, 5],
  // A policy names pools and is named by virtual servers.
  [/^ltm\/policy/, 5.5],
  [/^ltm\/virtual/, 6],
];

function rank(path: string): number {
  return RANKS.find(([re]) => re.test(path))?.[1] ?? 7;
}

/** Creates and modifies parents first, then deletes children first; enlist order otherwise. */
function inDependencyOrder(commands: readonly EnlistedCommand[]): EnlistedCommand[] {
  const writes = commands.filter((c) => c.method !== 'DELETE');
  const deletes = commands.filter((c) => c.method === 'DELETE');
  return [
    ...[...writes].sort((a, b) => rank(a.path) - rank(b.path)),
    ...[...deletes].sort((a, b) => rank(b.path) - rank(a.path)),
  ];
}
