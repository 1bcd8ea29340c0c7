#!/usr/bin/env node
// The CLI runs from the compiled output; `npm ci` builds it (the `prepare` script).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const entry = join(__dirname, '..', 'dist', 'client', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('offpeak is not built yet: run `npm run build` (npm ci does it for you).\n');
  process.exit(1);
}
// `run` maps failures to exit codes and exits once stdout has drained (client/main.ts).
require(entry).run(process.argv);
