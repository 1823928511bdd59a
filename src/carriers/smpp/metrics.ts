/**
 * Hooks the bind pool calls for metrics (SPEC 14). Every method is optional and takes
 * the carrier id; labels never carry phone numbers. observability/ implements this with
 * prom-client; protocol code never imports it.
 */
export interface SmppMetrics {
  /** A bind went up or down. */
  bindState?(carrier: string, index: number, up: boolean): void;
  /** A reconnect attempt starts (after backoff). */
  reconnect?(carrier: string): void;
  /** A connect or bind attempt failed: command_status name (ESME_RINVPASWD …) or the close reason (connect_failed …). */
  bindFailure?(carrier: string, statusName: string): void;
  /** The SMSC refused the credentials (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RBINDFAIL): alert on this. */
  authFailure?(carrier: string): void;
  /** A submit_sm_resp arrived, by command_status name (ESME_ROK, ESME_RTHROTTLED …). */
  submitResp?(carrier: string, statusName: string): void;
  /** A submit ended without a resp: `timeout` or `disconnected`. */
  submitNoResp?(carrier: string, kind: 'timeout' | 'disconnected'): void;
  /** Seconds from write to resp. */
  submitLatency?(carrier: string, seconds: number): void;
  /** submit_sm awaiting their resp, across the carrier's binds. */
  inFlight?(carrier: string, n: number): void;
  /** A deliver_sm arrived. */
  deliver?(carrier: string, kind: 'receipt' | 'mo'): void;
  /** A PDU from the SMSC could not be decoded (answered with an error, bind kept). */
  decodeError?(carrier: string, command: string): void;
}
