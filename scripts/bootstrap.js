#!/usr/bin/env node
// Makes a fresh clone ready by itself, so `npm run demo` and `npm test` need no prior step:
// installs the locked dependencies when they are missing or stale, then compiles the TypeScript.
// Plain JavaScript with no dependencies: it runs before anything is installed.
const { execFileSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

function run(args) {
  execFileSync(npm, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('Installing dependencies (npm ci)...\n');
  run(['ci', '--no-audit', '--no-fund', '--ignore-scripts']);
}
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
