import { startFauxqs } from 'fauxqs';

export interface SqsLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts fauxqs (an SQS emulator speaking the JSON wire protocol) in this process on a free port. */
export async function startSqsLocal(options: { port?: number } = {}): Promise<SqsLocal> {
  const server = await startFauxqs({ port: options.port ?? 0, logger: false });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    stop: () => server.stop(),
  };
}
