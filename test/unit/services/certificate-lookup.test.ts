import { describe, expect, it } from 'vitest';
import type { CertificateBundle, CertificateStore } from '../../../functions/domain/ports.js';
import type { CertificateMaterial } from '../../../functions/domain/tls-translation.js';
import { lookupCertificates, readOnce } from '../../../functions/services/certificate-lookup.js';
import { TreeBuilder } from '../../support/trees.js';

const ENV = 'Project';

/** A certificate store in memory that counts its reads and refuses unknown references as the real ones do. */
class CountingStore implements CertificateStore {
  readonly reads: string[] = [];
  constructor(private readonly known: Record<string, CertificateMaterial>) {}
  async read(ref: string): Promise<CertificateMaterial> {
    this.reads.push(ref);
    const found = this.known[ref];
    if (!found) throw new Error(`certificate ${ref}: no such secret`);
    return found;
  }
  async put(_ref: string, _bundle: CertificateBundle): Promise<void> {}
}

const material = (name: string): CertificateMaterial => ({
  certificate: `cert of ${name}`,
  privateKey: `key of ${name}`,
  fingerprint: name.padEnd(12, '0'),
  serverNames: [`${name}.example.com`],
});

describe('lookupCertificates: the certificates a translation needs, read by the services', () => {
  it('reads each reference of the live TERMINATED_HTTPS listeners once, and nothing for other listeners', async () => {
    const t = new TreeBuilder();
    const ns = `lbaas/${ENV}/${t.ids.tenantId}/`;
    t.listener({
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: `${ns}a`,
      sni_container_refs: [`${ns}b`],
    });
    t.listener({ protocol: 'TERMINATED_HTTPS', protocol_port: 8443, default_tls_container_ref: `${ns}a` });
    t.listener({ protocol: 'HTTP', protocol_port: 80 });
    const gone = t.listener({
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 9443,
      default_tls_container_ref: `${ns}c`,
    });
    t.status(gone, 'PENDING_DELETE');
    const store = new CountingStore({
      [`${ns}a`]: material('a'),
      [`${ns}b`]: material('b'),
      [`${ns}c`]: material('c'),
    });
    const found = await lookupCertificates(t.tree(), store, ENV);
    expect([...found.keys()].sort()).toEqual([`${ns}a`, `${ns}b`]);
    expect(found.get(`${ns}a`)).toEqual(material('a'));
    expect(store.reads.sort()).toEqual([`${ns}a`, `${ns}b`]);
  });

  it('answers a reason instead of reading another project’s or environment’s certificate', async () => {
    const t = new TreeBuilder();
    const foreign = `lbaas/${ENV}/${'0'.repeat(32)}/theirs`;
    const otherEnv = `lbaas/Other/${t.ids.tenantId}/mine`;
    t.listener({
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: foreign,
      sni_container_refs: [otherEnv],
    });
    const store = new CountingStore({ [foreign]: material('x'), [otherEnv]: material('y') });
    const found = await lookupCertificates(t.tree(), store, ENV);
    const reason = `it is not a certificate of project ${t.ids.tenantId} in environment ${ENV}`;
    expect(found.get(foreign)).toEqual({ error: reason });
    expect(found.get(otherEnv)).toEqual({ error: reason });
    expect(store.reads).toEqual([]);
  });

  it('turns a store’s refusal, or no store at all, into the reason its listener goes to ERROR with', async () => {
    const t = new TreeBuilder();
    const ref = `lbaas/${ENV}/${t.ids.tenantId}/missing`;
    t.listener({ protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: ref });
    expect((await lookupCertificates(t.tree(), new CountingStore({}), ENV)).get(ref)).toEqual({
      error: 'no such secret',
    });
    expect((await lookupCertificates(t.tree(), undefined, ENV)).get(ref)).toEqual({
      error: 'no certificate store is configured for this agent',
    });
  });

  it('readOnce shares each reference’s read (one reconcile run reads a certificate once)', async () => {
    const t = new TreeBuilder();
    const ref = `lbaas/${ENV}/${t.ids.tenantId}/a`;
    const store = new CountingStore({ [ref]: material('a') });
    const once = readOnce(store);
    await Promise.all([once.read(ref), once.read(ref)]);
    await once.read(ref);
    expect(store.reads).toEqual([ref]);
  });
});
