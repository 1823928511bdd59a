/**
 * Errors of the cluster layer (issue 21), each with a stable `code` that logs, metrics and
 * the lead's wiring can switch on. The message never carries a connection URL (it may hold
 * a password).
 */
export const CLUSTER_ERROR_CODES = [
  /** The cluster schema could not be brought up to date. */
  'cluster_migration_failed',
  /** A query to PostgreSQL failed or timed out (connection lost, statement_timeout, …). */
  'cluster_db_unavailable',
  /** A bind slot lease could not be renewed in time: the slot was reported lost. */
  'cluster_lease_lost',
  /** The OTP wake-up listener lost its connection (it reconnects by itself). */
  'cluster_listen_failed',
  /** A callback of ours (onAcquired) threw; the lease loop goes on. */
  'cluster_callback_failed',
  /** Invalid options given to a cluster module. */
  'cluster_invalid_options',
] as const;

export type ClusterErrorCode = (typeof CLUSTER_ERROR_CODES)[number];

export class ClusterError extends Error {
  readonly code: ClusterErrorCode;
  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClusterError';
    this.code = code;
  }
}

/** Wraps whatever a pg call threw into a ClusterError with `code`, keeping the cause. */
export function asClusterError(code: ClusterErrorCode, what: string, err: unknown): ClusterError {
  if (err instanceof ClusterError) return err;
  const detail = err instanceof Error ? `${(err as { code?: string }).code ? `${(err as { code?: string }).code}: ` : ''}${err.message}` : String(err);
  return new ClusterError(code, `${what}: ${redactUrl(detail)}`, { cause: err });
}

/** postgres://user:secret@host → postgres://user:***@host, wherever it appears in a message. */
export function redactUrl(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
