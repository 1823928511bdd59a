/**
 * `xinge backup FILE [--config CONFIG] [--force] [--step-pages N]`: a hot copy of the live
 * store (store.path of the config) while the daemon runs, with progress on stderr.
 * `xinge restore FILE [--config CONFIG]`: with the daemon stopped, put a backup in place of
 * the store (the old one is kept beside it). See docs/runbook.md.
 */
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.js';
import { XingeError } from '../domain/errors.js';
import { backupStore, restoreStore } from '../store/sqlite/backup.js';

const USAGE = 'usage: xinge backup FILE [--config CONFIG] [--force] [--step-pages N] | xinge restore FILE [--config CONFIG]\n';

function parseArgs(args: string[]): { file?: string; config: string; force: boolean; stepPages?: number; error?: string } {
  const out: { file?: string; config: string; force: boolean; stepPages?: number; error?: string } = { config: DEFAULT_CONFIG_PATH, force: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--config') out.config = args[++i] ?? '';
    else if (a.startsWith('--config=')) out.config = a.slice(9);
    else if (a === '--force') out.force = true;
    else if (a === '--step-pages') {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 1) out.error = '--step-pages: a positive integer';
      else out.stepPages = n;
    } else if (a.startsWith('--')) out.error = `unknown option ${a}`;
    else if (out.file === undefined) out.file = a;
    else out.error = `unexpected argument ${a}`;
  }
  if (out.file === undefined && out.error === undefined) out.error = 'give the backup FILE';
  return out;
}

export async function runBackupCli(cmd: 'backup' | 'restore', args: string[], err: NodeJS.WritableStream = process.stderr, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const a = parseArgs(args);
  if (a.error !== undefined) {
    err.write(`xinge ${cmd}: ${a.error}\n${USAGE}`);
    return 2;
  }
  try {
    const store = loadConfigFile(a.config).store;
    if (store.driver === 'postgres') {
      err.write(`xinge ${cmd}: store.driver is postgres: back up and restore the database with PostgreSQL's tools (pg_dump, pg_basebackup, point-in-time recovery); this command copies the SQLite store\n`);
      return 2;
    }
    const storePath = store.path;
    if (cmd === 'backup') {
      let lastPct = -1;
      const res = await backupStore(storePath, a.file!, {
        overwrite: a.force,
        ...(a.stepPages !== undefined ? { stepPages: a.stepPages } : {}),
        progress: (p) => {
          const pct = p.totalPages === 0 ? 100 : Math.floor(((p.totalPages - p.remainingPages) / p.totalPages) * 100);
          if (pct !== lastPct) err.write(`xinge backup: ${pct}% (${p.totalPages - p.remainingPages}/${p.totalPages} pages)\n`);
          lastPct = pct;
        },
      });
      out.write(`xinge backup: wrote ${a.file} (${res.bytes} bytes, ${res.pages} pages, ${res.messages} messages) in ${res.ms} ms\n`);
    } else {
      const res = await restoreStore(a.file!, storePath);
      out.write(`xinge restore: ${storePath} now holds ${a.file} (${res.messages} messages)${res.movedAside ? `; the previous store is kept as ${res.movedAside}` : ''}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) err.write(`xinge ${cmd}: config ${a.config}:\n${e.errors.join('\n')}\n`);
    else if (e instanceof XingeError) err.write(`xinge ${cmd}: ${e.message}\n`);
    else err.write(`xinge ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}
