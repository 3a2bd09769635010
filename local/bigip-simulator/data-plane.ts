import type net from 'node:net';
import type { ConfigStore } from './ltm-model.js';
import { MonitorProbes } from './monitor-probes.js';
import type { StatsBook } from './stats-book.js';
import { TrafficForwarding } from './traffic-forwarding.js';
import { VirtualListeners } from './virtual-listeners.js';

/** What the data plane needs of its unit. */
export interface DataPlaneUnit {
  readonly store: ConfigStore;
  readonly stats: StatsBook;
  readonly failoverState: 'active' | 'standby';
}

export interface DataPlaneOptions {
  /** How often listeners and due probes are looked at (default 200 ms). */
  tickMs?: number;
  clock?: () => number;
}

/**
 * The traffic side of a simulated unit, for the local sandbox: it does with the configuration what
 * a BIG-IP does. Health monitors probe pool members whose addresses are on the loopback (HTTP and
 * HTTPS send the monitor's send string and match its receive rule against the answer; TCP connects;
 * gateway ICMP has no unprivileged equivalent, and a loopback address always answers echo, so it
 * counts as up) every `interval` seconds, and mark a member down once no probe has succeeded for
 * `timeout` seconds, up on the first success. The active unit accepts connections on enabled
 * virtual servers whose destination is a loopback address, and forwards each to an enabled member
 * its monitor says is up (any enabled member when the pool has no monitor), by the pool's
 * load-balancing mode, honouring ratios, the virtual's connection limit and source-address
 * persistence; it counts bits and connections into the stats the endpoints report (device-facts.md §5.2). A
 * connection with no member to go to is reset, as a BIG-IP does. A virtual with client-ssl
 * profiles terminates TLS with their installed certificates, choosing by SNI (`serverName`, else the
 * `sniDefault` one); a virtual with LTM policies reads the HTTP request head and forwards,
 * redirects or resets as the first matching rule says. Its parts: `monitor-probes.ts`,
 * `virtual-listeners.ts`, `traffic-forwarding.ts`, `http-policies.ts`.
 */
export class DataPlane {
  private readonly sockets = new Set<net.Socket>();
  private readonly probes: MonitorProbes;
  private readonly listeners: VirtualListeners;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    unit: DataPlaneUnit,
    private readonly options: DataPlaneOptions = {},
  ) {
    const clock = options.clock ?? Date.now;
    const track = (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    };
    this.probes = new MonitorProbes(unit, clock);
    const forwarding = new TrafficForwarding(unit, clock, track);
    this.listeners = new VirtualListeners(unit, (destination, client) =>
      forwarding.accept(destination, client),
    );
  }

  /** Last bind failure per destination (a port in use), for the sandbox's diagnostics. */
  get bindErrors(): Map<string, string> {
    return this.listeners.bindErrors;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 200);
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.sockets) s.destroy();
    await this.listeners.closeAll();
  }

  /** Destinations served now (`127.0.0.2:18080`). */
  get listening(): string[] {
    return this.listeners.listening;
  }

  tick(): void {
    this.listeners.sync();
    this.probes.run();
  }
}
