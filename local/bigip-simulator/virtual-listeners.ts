import net from 'node:net';
import tls from 'node:tls';
import { destinationOf } from './loopback.js';
import type { ConfigStore, StoredObject } from './ltm-model.js';

/** A client-ssl profile's certificates and keys (every key pair), as Node's TLS server takes them. */
export interface TlsMaterial {
  id: string;
  options: { cert: string[]; key: { pem: string; passphrase?: string }[]; ca?: string };
  /**
   * The profile’s peerCertMode (device-facts.md §7.17): `request` asks a client for a certificate, `require` refuses
   * the handshake of a client without one that `caFile` verifies; `ignore` (or unset) asks for none.
   */
  peerCertMode?: string;
}

/**
 * The listening side of a simulated unit: while it is active, one server per enabled virtual server
 * whose destination is a loopback address, plain or terminating TLS with its client-ssl profiles'
 * installed certificates (chosen by SNI: `serverName`, else the `sniDefault` one). Each accepted
 * connection goes to `accept`.
 */
export class VirtualListeners {
  private readonly servers = new Map<string, net.Server | tls.Server>();
  /** Which default certificate each TLS listener serves (rotations swap it). */
  private readonly served = new Map<string, string>();
  private readonly contexts = new Map<string, tls.SecureContext>();
  /** The client-certificate mode each TLS listener was created with (a change serves it anew). */
  private readonly modes = new Map<string, string>();
  /** Last bind failure per destination (a port in use), for the sandbox's diagnostics. */
  readonly bindErrors = new Map<string, string>();

  constructor(
    private readonly unit: { readonly store: ConfigStore; readonly failoverState: 'active' | 'standby' },
    private readonly accept: (destination: string, client: net.Socket) => void,
  ) {}

  /** Destinations served now (`127.0.0.2:18080`). */
  get listening(): string[] {
    return [...this.servers.keys()].sort();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((k) => this.closeServer(k)));
  }

  /** Serves what the configuration says now: new virtuals listened on, gone ones closed, rotated certificates swapped. */
  sync(): void {
    const wanted = new Map<string, { address: string; port: number; tls: TlsMaterial | undefined }>();
    if (this.unit.failoverState === 'active') {
      for (const vs of this.unit.store.all('ltm/virtual')) {
        const dest = destinationOf(vs);
        // TCP virtual servers only: the sandbox forwards no datagrams (UDP virtuals are configuration here).
        if (dest && vs.attrs.disabled !== true && (vs.attrs.ipProtocol ?? 'tcp') === 'tcp')
          wanted.set(`${dest.address}:${dest.port}`, { ...dest, tls: this.defaultTls(vs) });
      }
    }
    for (const [key, server] of this.servers) {
      const want = wanted.get(key);
      // Gone, switched between plain and TLS, or another client-certificate mode: served anew.
      if (
        !want ||
        (want.tls !== undefined) !== server instanceof tls.Server ||
        (want.tls && this.modes.get(key) !== (want.tls.peerCertMode ?? 'ignore'))
      )
        void this.closeServer(key);
    }
    for (const [key, dest] of wanted) {
      const running = this.servers.get(key);
      if (running) {
        // A rotated default certificate applies to new connections, as on a device.
        if (running instanceof tls.Server && dest.tls && this.served.get(key) !== dest.tls.id) {
          running.setSecureContext(dest.tls.options);
          this.served.set(key, dest.tls.id);
        }
        continue;
      }
      const mode = dest.tls?.peerCertMode ?? 'ignore';
      const server = dest.tls
        ? tls.createServer(
            {
              ...dest.tls.options,
              requestCert: mode === 'request' || mode === 'require',
              rejectUnauthorized: mode === 'require',
              SNICallback: (name, done) => done(null, this.contextFor(key, name)),
            },
            (socket) => this.accept(key, socket),
          )
        : net.createServer((socket) => this.accept(key, socket));
      if (dest.tls) {
        this.served.set(key, dest.tls.id);
        this.modes.set(key, mode);
      }
      this.servers.set(key, server);
      server.on('error', (error) => {
        // A port in use (say, the peer unit still holding it after a failover): try again next tick.
        this.bindErrors.set(key, error.message);
        this.servers.delete(key);
        server.close();
      });
      server.listen(dest.port, dest.address, () => this.bindErrors.delete(key));
    }
  }

  /**
   * A virtual's client-ssl profiles, with their installed certificates and keys: every key pair of
   * a profile (an RSA and an ECDSA one for one host), of which the handshake picks what the client
   * supports.
   */
  private clientSsl(vs: StoredObject): { profile: StoredObject; material: TlsMaterial }[] {
    const store = this.unit.store;
    const out: { profile: StoredObject; material: TlsMaterial }[] = [];
    for (const ref of (vs.attrs.profiles as { name: string }[] | undefined) ?? []) {
      const profile = store.get('ltm/profile/client-ssl', ref.name);
      const chains = (profile?.attrs.certKeyChain as Record<string, string>[] | undefined) ?? [];
      if (!profile) continue;
      const certs: string[] = [];
      const keys: { pem: string; passphrase?: string }[] = [];
      const ids: string[] = [];
      for (const chain of chains) {
        const cert = store.get('sys/file/ssl-cert', chain.cert ?? '');
        const key = store.get('sys/file/ssl-key', chain.key ?? '');
        const intermediates = chain.chain ? store.get('sys/file/ssl-cert', chain.chain) : undefined;
        if (!cert || !key) continue;
        const passphrase = (chain.passphrase ?? key.attrs.passphrase) as string | undefined;
        certs.push(
          `${String(cert.attrs.content)}${intermediates ? `\n${String(intermediates.attrs.content)}` : ''}`,
        );
        keys.push({ pem: String(key.attrs.content), ...(passphrase ? { passphrase } : {}) });
        ids.push(`${cert.generation}#${key.generation}`);
      }
      if (certs.length === 0) continue;
      const ca =
        typeof profile.attrs.caFile === 'string'
          ? store.get('sys/file/ssl-cert', profile.attrs.caFile)
          : undefined;
      out.push({
        profile,
        material: {
          id: `${profile.fullPath}#${profile.generation}#${ids.join(',')}`,
          options: { cert: certs, key: keys, ...(ca ? { ca: String(ca.attrs.content) } : {}) },
          ...(typeof profile.attrs.peerCertMode === 'string'
            ? { peerCertMode: profile.attrs.peerCertMode }
            : {}),
        },
      });
    }
    return out;
  }

  /** The certificate for clients without a server name: the sniDefault profile's, or the only one. */
  private defaultTls(vs: StoredObject): TlsMaterial | undefined {
    const profiles = this.clientSsl(vs);
    return (profiles.find((p) => p.profile.attrs.sniDefault === true) ?? profiles[0])?.material;
  }

  /** SNI: the profile whose serverName matches (exactly or by `*.` wildcard), else the default. */
  private contextFor(destination: string, name: string): tls.SecureContext | undefined {
    const vs = this.unit.store.all('ltm/virtual').find((v) => {
      const d = destinationOf(v);
      return d && `${d.address}:${d.port}` === destination;
    });
    if (!vs) return undefined;
    const profiles = this.clientSsl(vs);
    const host = name.toLowerCase();
    const matches = (serverName: unknown) => {
      const s = String(serverName ?? '').toLowerCase();
      const wildcard = s.startsWith('*.') && host.endsWith(s.slice(1));
      return s === host || (wildcard && host.split('.').length === s.split('.').length);
    };
    const chosen =
      profiles.find((p) => matches(p.profile.attrs.serverName)) ??
      profiles.find((p) => p.profile.attrs.sniDefault === true) ??
      profiles[0];
    if (!chosen) return undefined;
    let context = this.contexts.get(chosen.material.id);
    if (!context) {
      context = tls.createSecureContext(chosen.material.options);
      this.contexts.set(chosen.material.id, context);
    }
    return context;
  }

  private closeServer(key: string): Promise<void> {
    const server = this.servers.get(key);
    this.servers.delete(key);
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
