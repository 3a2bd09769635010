import { certificateNamespace, type ListenerSpec, type PoolSpec } from '../domain/lbaas-request.js';
import type { CertificateStore } from '../domain/ports.js';
import { isDeleted, type LoadBalancerTree } from '../domain/resource-state.js';
import { poolCertificateRefs } from '../domain/server-ssl-translation.js';
import { type CertificateLookup, certificateRefs } from '../domain/tls-translation.js';

/**
 * The certificates of a load balancer's live TERMINATED_HTTPS listeners (served ones and client CAs)
 * and of its pools with TLS to members, read for one translation
 * (each reference once). One that cannot be read, or that belongs to another project or
 * environment, is an entry with the reason: its listener goes to ERROR, the rest applies.
 */
export async function lookupCertificates(
  tree: LoadBalancerTree,
  store: CertificateStore | undefined,
  env: string,
): Promise<CertificateLookup> {
  const refs = new Set<string>();
  for (const l of tree.listeners)
    if (!isDeleted(tree, l)) for (const ref of certificateRefs(l.desired as ListenerSpec)) refs.add(ref);
  for (const p of tree.pools)
    if (!isDeleted(tree, p)) for (const ref of poolCertificateRefs(p.desired as PoolSpec)) refs.add(ref);
  const out = new Map<string, Awaited<ReturnType<CertificateStore['read']>> | { error: string }>();
  const namespace = certificateNamespace(env, tree.root.tenantId);
  await Promise.all(
    [...refs].map(async (ref) => {
      if (!ref.startsWith(namespace)) {
        out.set(ref, {
          error: `it is not a certificate of project ${tree.root.tenantId} in environment ${env}`,
        });
        return;
      }
      if (!store) {
        out.set(ref, { error: 'no certificate store is configured for this agent' });
        return;
      }
      try {
        out.set(ref, await store.read(ref));
      } catch (error) {
        out.set(ref, { error: (error as Error).message.replace(`certificate ${ref}: `, '') });
      }
    }),
  );
  return out;
}

/** A store whose reads are shared: each reference read at most once (for one reconcile run). */
export function readOnce(store: CertificateStore): CertificateStore {
  const reads = new Map<string, ReturnType<CertificateStore['read']>>();
  return {
    read(ref) {
      let read = reads.get(ref);
      if (!read) {
        read = store.read(ref);
        reads.set(ref, read);
      }
      return read;
    },
    put: (ref, bundle) => store.put(ref, bundle),
  };
}
