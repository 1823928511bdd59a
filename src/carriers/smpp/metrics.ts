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
  /**
   * A PDU carried a submit's sequence number but was not a usable submit_sm_resp: the
   * command seen (enquire_link_resp, generic_nack …; `submit_sm_resp` = status 0 without a
   * message_id). The segment is retried.
   */
  protocolError?(carrier: string, command: string): void;
  /** A submit_sm_resp with status 0 and a malformed message_id: accepted, id salvaged. */
  malformedMessageId?(carrier: string): void;
  /**
   * A submit_sm_resp after its timeout: `settled` (the segment had not gone out again),
   * `after_resend` (it had: two SMS), `ignored` (the segment was already settled).
   */
  lateResp?(carrier: string, outcome: 'settled' | 'after_resend' | 'ignored'): void;
  /** A bind taken out after max_consecutive_timeouts submit_sm timeouts in a row (answers enquire_link, not submit_sm). */
  silentBind?(carrier: string): void;
}
