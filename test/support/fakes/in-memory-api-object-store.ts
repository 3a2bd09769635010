import type { ApiObject, ApiObjectKind, ApiObjectStore } from '../../../functions/domain/ports.js';

/** The apiObjects table in memory: objects per environment and kind, each write conditional on the version read. */
export class InMemoryApiObjectStore implements ApiObjectStore {
  readonly objects = new Map<string, ApiObject>();

  private key(env: string, kind: ApiObjectKind, id: string): string {
    return `${env}#${kind}|${id}`;
  }

  async get(env: string, kind: ApiObjectKind, id: string): Promise<ApiObject | undefined> {
    const o = this.objects.get(this.key(env, kind, id));
    return o ? structuredClone(o) : undefined;
  }

  async list(env: string, kind: ApiObjectKind): Promise<ApiObject[]> {
    const prefix = `${env}#${kind}|`;
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, o]) => structuredClone(o));
  }

  async put(
    env: string,
    kind: ApiObjectKind,
    id: string,
    data: Record<string, unknown>,
    expected?: number,
  ): Promise<boolean> {
    const key = this.key(env, kind, id);
    const now = this.objects.get(key);
    if (expected === undefined ? now !== undefined : now?.version !== expected) return false;
    this.objects.set(key, { id, data: structuredClone(data), version: (expected ?? 0) + 1 });
    return true;
  }

  async remove(env: string, kind: ApiObjectKind, id: string, expected?: number): Promise<boolean> {
    const key = this.key(env, kind, id);
    const now = this.objects.get(key);
    if (!now || (expected !== undefined && now.version !== expected)) return false;
    this.objects.delete(key);
    return true;
  }
}
