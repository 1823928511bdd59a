#!/usr/bin/env node
// `npx xinge …` after `npm ci`: runs dist/cli.js, compiling src/ to dist/ first when dist/ is
// missing (a fresh clone) or older than the sources, so no separate build step is needed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const src = join(root, 'src');

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

if (existsSync(src) && (!existsSync(cli) || newestMtime(src) > statSync(cli).mtimeMs)) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    process.stderr.write('xinge: dist/ is missing or older than src/, and TypeScript is not installed: run npm ci, then npx xinge again\n');
    process.exit(1);
  }
  process.stderr.write('xinge: compiling src/ to dist/ (first run, or the sources changed) ...\n');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write('xinge: the build failed (above): fix it, or run npm run build to see it again\n');
    process.exit(1);
  }
}
await import(pathToFileURL(cli).href);
