/**
 * The SMIL presentation of an MMS (pure): one slide per image with the text that follows
 * it; text before any image gets a slide of its own; a PDF is a `ref` on its own slide.
 */
import { XMLParser } from 'fast-xml-parser';

export interface SmilItem {
  kind: 'text' | 'image' | 'other';
  contentId: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function buildSmil(items: readonly SmilItem[], slideMs = 5000): string {
  const slides: Array<{ image?: string; text?: string; other?: string }> = [];
  for (const it of items) {
    const last = slides[slides.length - 1];
    if (it.kind === 'image') slides.push({ image: it.contentId });
    else if (it.kind === 'text') {
      if (last !== undefined && last.text === undefined && last.other === undefined) last.text = it.contentId;
      else slides.push({ text: it.contentId });
    } else slides.push({ other: it.contentId });
  }
  const hasImage = slides.some((s) => s.image !== undefined);
  const lines = [
    '<smil>',
    '<head>',
    '<layout>',
    '<root-layout width="240" height="320"/>',
    ...(hasImage ? ['<region id="Image" left="0" top="0" width="240" height="220" fit="meet"/>'] : []),
    `<region id="Text" left="0" top="${hasImage ? 220 : 0}" width="240" height="${hasImage ? 100 : 320}" fit="scroll"/>`,
    '</layout>',
    '</head>',
    '<body>',
  ];
  for (const s of slides) {
    lines.push(`<par dur="${slideMs}ms">`);
    if (s.image !== undefined) lines.push(`<img src="cid:${esc(s.image)}" region="Image"/>`);
    if (s.text !== undefined) lines.push(`<text src="cid:${esc(s.text)}" region="Text"/>`);
    if (s.other !== undefined) lines.push(`<ref src="cid:${esc(s.other)}"/>`);
    lines.push('</par>');
  }
  lines.push('</body>', '</smil>');
  return lines.join('\r\n');
}


export interface SmilSlide {
  durMs: number | undefined;
  /** Media references in slide order: element name (img, text, audio, video, ref) and src. */
  media: Array<{ element: string; src: string }>;
}

const smilParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, parseAttributeValue: false, isArray: (name) => ['par', 'img', 'text', 'audio', 'video', 'ref'].includes(name) });

const durMs = (v: unknown): number | undefined => {
  if (typeof v !== 'string') return undefined;
  const m = /^\s*([\d.]+)\s*(ms|s)?\s*$/.exec(v);
  if (m === null) return undefined;
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
};

/** The slides of a SMIL presentation (what a received MMS shows, in order). */
export function parseSmil(xml: string): SmilSlide[] {
  const doc = smilParser.parse(xml) as { smil?: { body?: { par?: Array<Record<string, unknown>> } } };
  const pars = doc.smil?.body?.par ?? [];
  return pars.map((par) => {
    const media: SmilSlide['media'] = [];
    for (const element of ['img', 'text', 'audio', 'video', 'ref']) {
      for (const m of (par[element] as Array<Record<string, unknown>> | undefined) ?? []) {
        if (typeof m.src === 'string') media.push({ element, src: m.src });
      }
    }
    return { durMs: durMs(par.dur), media };
  });
}
