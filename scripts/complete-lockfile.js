#!/usr/bin/env node
// The registry mirror this project is developed behind serves only Linux builds of platform-specific
// packages, so `npm install` leaves their other-platform optional dependencies out of
// package-lock.json, and `npm ci` then refuses the lock everywhere ("Missing: ... from lock file").
// This adds those entries back as npm itself writes them for optional packages (version, optional,
// os and cpu, read from the package's name), so `npm ci` works on any platform. Run it after
// changing dependencies: `node scripts/complete-lockfile.js`.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const lockPath = join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const OS = [
  'darwin',
  'linux',
  'win32',
  'android',
  'freebsd',
  'openharmony',
  'openbsd',
  'sunos',
  'aix',
  'netbsd',
];
const CPU = [
  ['arm64', 'arm64'],
  ['aarch64', 'arm64'],
  ['x64', 'x64'],
  ['ia32', 'ia32'],
  ['arm', 'arm'],
  ['ppc64', 'ppc64'],
  ['s390x', 's390x'],
  ['riscv64', 'riscv64'],
  ['loong64', 'loong64'],
];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = OS.find((o) => parts.includes(o));
  const cpu = CPU.find(([token]) => parts.includes(token) || parts.some((p) => p.startsWith(token)));
  return { os, cpu: cpu && cpu[1] };
}

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${dep}` : `node_modules/${dep}`;
    if (lock.packages[base] || lock.packages[`node_modules/${dep}`]) continue;
    const { os, cpu } = platformOf(dep);
    if (!os) continue; // not a platform build: leave npm's own resolution alone
    lock.packages[`node_modules/${dep}`] = {
      version,
      optional: true,
      ...(cpu ? { cpu: [cpu] } : {}),
      os: [os],
    };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
process.stderr.write(`package-lock.json: added ${added} other-platform optional entries\n`);
