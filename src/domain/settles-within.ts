/**
 * Whether `p` settles within `ms` (Infinity: wait for it). Used by the drain, whose steps
 * wait for peers that may never answer; the caller decides what to cut when this says no.
 * A rejection counts as settled: the caller awaits `p` itself for the outcome.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => {
        if (Number.isFinite(ms)) timer = setTimeout(() => r(false), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
