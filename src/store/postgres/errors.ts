/** Errors of the PostgreSQL store, each with a stable `code`; messages never carry the URL's password. */
import { XingeError } from '../../domain/errors.js';

export type StoreErrorCode =
  /** The connection is gone, timed out or refused: the caller answers 503 and retries later. */
  | 'store_unavailable'
  /** A unique key or serialization conflict. */
  | 'store_conflict'
  /** Any other statement error (a bug or a schema mismatch). */
  | 'store_failed'
  | 'store_closed'
  | 'store_migration_failed';

export class StoreError extends XingeError {
  /** PostgreSQL's SQLSTATE when it answered one. */
  readonly sqlState: string | undefined;
  constructor(code: StoreErrorCode, message: string, sqlState?: string) {
    super(code, message);
    this.name = 'StoreError';
    this.sqlState = sqlState;
  }
}
