import { basename } from 'node:path';
import { errors } from './error-bodies.js';
import { partitionFilter } from './http-io.js';
import type { ConfigStore } from './ltm-model.js';
import { type Collection, SimError, type StoredObject } from './ltm-types.js';

/**
 * Certificates and keys as a device takes them (peer-features.md §2.2, F5's SDK
 * `shared/file_transfer.py` and the agent's `ssl_profile.py`): the bytes are uploaded to
 * `/mgmt/shared/file-transfer/uploads/<name>` in chunks with `Content-Range: start-end/total`, land in
 * `/var/config/rest/downloads/<name>`, and `POST /mgmt/tm/sys/crypto/cert|key {command: "install",
 * name, from-local-file}` makes them `sys/file/ssl-cert|ssl-key` objects. F5's agent installs into
 * /Common by bare name; installing under a full path (`/P/x.crt`) into a tenant partition is what
 * tmsh allows for any object, taken as given here (no recorded device output says otherwise).
 * Uploaded files belong to the unit; installed objects are configuration (config-sync copies them).
 */
export class CryptoFiles {
  private readonly uploads = new Map<string, Buffer>();

  /** One chunk of an upload; answers as the file-transfer worker does (a small JSON status). */
  upload(name: string, range: string | undefined, bytes: Buffer): { status: number; body: unknown } {
    if (!/^[A-Za-z0-9_.:%-]{1,255}$/.test(name)) return { status: 400, body: errors.invalidName(name) };
    const m = /^(\d+)-(\d+)\/(\d+)$/.exec(range ?? '');
    if (!m)
      return {
        status: 400,
        body: errors.invalidValue('simulator: Content-Range start-end/total is required'),
      };
    const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (end - start + 1 !== bytes.length || end >= total)
      return { status: 400, body: errors.invalidValue('simulator: Content-Range does not match the body') };
    const file = start === 0 ? Buffer.alloc(total) : (this.uploads.get(name) ?? Buffer.alloc(total));
    bytes.copy(file, start);
    this.uploads.set(name, file);
    // What a device answers here is not in the references, and nothing here reads it: a bare object.
    return { status: 200, body: {} };
  }

  /** `sys/crypto/(cert|key)` installs and `sys/file/(ssl-cert|ssl-key)` reads and deletes. */
  execute(
    store: ConfigStore,
    method: string,
    tm: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): unknown {
    const install = /^sys\/crypto\/(cert|key)$/.exec(tm);
    if (install) {
      if (method !== 'POST' || body.command !== 'install')
        throw new SimError(405, errors.methodNotAllowed(method));
      const collection: Collection = install[1] === 'key' ? 'sys/file/ssl-key' : 'sys/file/ssl-cert';
      const from = String(body['from-local-file'] ?? '');
      const content = this.uploads.get(basename(from));
      if (!content) throw new SimError(400, errors.invalidValue(`simulator: ${from} was not uploaded`));
      const path = String(body.name ?? '');
      const m = /^\/([^/]+)\/([A-Za-z0-9_.:%-]+)$/.exec(path.startsWith('/') ? path : `/Common/${path}`);
      if (!m) throw new SimError(400, errors.invalidName(path));
      const [, partition, name] = m as unknown as [string, string, string];
      if (!store.folderExists(partition)) throw new SimError(400, errors.folderMissingInUrl(`/${partition}`));
      const object = store.make(name, partition, {
        content: content.toString('utf8'),
        ...(typeof body.passphrase === 'string' ? { passphrase: body.passphrase } : {}),
      });
      // Installing over an existing name replaces it, as `install` does.
      store.insert(collection, object.fullPath, object);
      return { kind: `tm:sys:crypto:${install[1]}:${install[1]}state`, command: 'install', name: path };
    }
    const file = /^sys\/file\/(ssl-cert|ssl-key)(?:\/([^/]+))?$/.exec(tm);
    if (!file) throw new SimError(404, errors.unknownPath(`/tm/${tm}`));
    const collection = `sys/file/${file[1]}` as Collection;
    if (!file[2]) {
      if (method !== 'GET') throw new SimError(405, errors.methodNotAllowed(method));
      const partition = partitionFilter(query);
      return {
        kind: `tm:sys:file:${file[1]}:${file[1]}collectionstate`,
        items: store
          .all(collection)
          .filter((o) => !partition || o.partition === partition)
          .map((o) => render(collection, o)),
      };
    }
    const path = decodeURIComponent(file[2]).replaceAll('~', '/');
    const object = store.get(collection, path);
    if (!object) throw new SimError(404, errors.notFound('File Object', path));
    if (method === 'GET') return render(collection, object);
    if (method !== 'DELETE') throw new SimError(405, errors.methodNotAllowed(method));
    const user = store
      .all('ltm/profile/client-ssl')
      .find((p) =>
        ((p.attrs.certKeyChain as Record<string, string>[]) ?? []).some((c) =>
          [c.cert, c.key, c.chain].includes(path),
        ),
      );
    if (user)
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: ${path} is in use by client-ssl profile ${user.fullPath} (no public source quotes this refusal)`,
        ),
      );
    store.remove(collection, path);
    return {};
  }
}

/** A certificate or key as a device lists it: never its key material. */
function render(collection: Collection, o: StoredObject): Record<string, unknown> {
  const type = collection.split('/')[2] as string;
  return {
    kind: `tm:sys:file:${type}:${type}state`,
    name: o.name,
    partition: o.partition,
    fullPath: o.fullPath,
    generation: o.generation,
  };
}
