/**
 * A peer's HTTP answer read whole, but never more than `max` octets: an answer that does not
 * end (or is simply huge) fails with code `response_too_large` instead of filling memory.
 */
export async function readLimited(body: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw Object.assign(new Error(`response too large (over ${max} octets)`), { code: 'response_too_large' });
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}
