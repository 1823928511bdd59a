/** MM7 metrics (SPEC 14: "MM7 by status code"), on the daemon's registry. Labels never hold numbers or text. */
import client from 'prom-client';

export type Mm7Metrics = ReturnType<typeof createMm7Metrics>;

export function createMm7Metrics(registry: client.Registry, prefix: string) {
  const c = (name: string, help: string, labelNames: string[]) => new client.Counter({ name: prefix + name, help, labelNames, registers: [registry] });
  return {
    submit: c('mm7_submit_total', 'SubmitReq answers by MMSC and StatusCode (or network, http_NNN for no MM7 answer).', ['mmsc', 'status_code', 'outcome']),
    reports: c('mm7_delivery_reports_total', 'DeliveryReportReq received by MMSC and MMStatus.', ['mmsc', 'mm_status']),
    receiver: c('mm7_receiver_requests_total', 'Requests to the MM7 receiver by kind and result.', ['kind', 'result']),
    intake: c('mms_intake_total', 'POST /v1/mms by category and result (accepted or refusal code).', ['category', 'result']),
    final: c('mms_final_total', 'MMS reaching a final state.', ['mmsc', 'status']),
    fallback: c('mms_fallback_sms_total', 'Fallback SMS of MMS that did not arrive, by result.', ['result']),
  };
}
