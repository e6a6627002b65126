// Lets compiled entry points resolve the absolute `src/...` imports used across the code base
// (tsc keeps them verbatim). Import this first from every entry point.
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('node:module');

const compiledRoot = path.resolve(__dirname, '..');
const current = (process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean);
if (!current.includes(compiledRoot)) {
  process.env.NODE_PATH = [compiledRoot, ...current].join(path.delimiter);
  Module._initPaths();
}
