import { startFauxqs } from 'fauxqs';
import { receiveFifoBatchesAsSqs } from './fifo-batches.js';

export interface SqsLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs (an SQS emulator speaking the JSON wire protocol) in this process on a free port,
 * its FIFO batches shaped as SQS shapes them (fifo-batches.ts).
 */
export async function startSqsLocal(options: { port?: number } = {}): Promise<SqsLocal> {
  await receiveFifoBatchesAsSqs();
  const server = await startFauxqs({ port: options.port ?? 0, logger: false });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    stop: () => server.stop(),
  };
}
