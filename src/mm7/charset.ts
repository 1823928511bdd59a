/** Text to and from the charsets MMSCs use (UTF-8 by default; GBK and GB18030 for Chinese VASP SDKs). */
import iconv from 'iconv-lite';

export const MM7_CHARSETS = ['utf-8', 'gbk', 'gb18030'] as const;
export type Mm7Charset = (typeof MM7_CHARSETS)[number];

export function encodeText(text: string, charset: Mm7Charset): Buffer {
  return charset === 'utf-8' ? Buffer.from(text, 'utf8') : iconv.encode(text, charset);
}

/** Decode by a declared charset; an unknown or absent one is read as UTF-8. */
export function decodeText(data: Buffer, charset: string | undefined): string {
  const cs = (charset ?? 'utf-8').trim().toLowerCase();
  if (cs === 'utf-8' || cs === 'utf8' || cs === '' || cs === 'us-ascii') return data.toString('utf8');
  if (iconv.encodingExists(cs)) return iconv.decode(data, cs);
  return data.toString('utf8');
}
