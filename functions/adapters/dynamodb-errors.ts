import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';

export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

export function isTransactionCanceled(error: unknown): error is TransactionCanceledException {
  return (
    error instanceof TransactionCanceledException || (error as Error)?.name === 'TransactionCanceledException'
  );
}

/** Per-item reason codes of a cancelled transaction ('None', 'ConditionalCheckFailed', 'TransactionConflict', …). */
export function cancellationCodes(error: TransactionCanceledException): (string | undefined)[] {
  return (error.CancellationReasons ?? []).map((r) => r.Code);
}
