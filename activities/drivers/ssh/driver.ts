import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { SshSettings } from '../../../domain/fleet';
import type { Assessment, InstallResult, PatchInstallState } from '../../../domain/patches';
import { DriverError, type MachineTarget, type PatchDriver } from '../driver';
import {
  APT_SIMULATE_UPGRADE,
  APT_UPDATE,
  aptInstallArgv,
  aptPatches,
  dpkgQueryArgv,
  parseAptSimulation,
  parseDpkgQuery,
  parseRebootRequiredPkgs,
} from './apt';
import {
  BOOT_ID,
  familyOf,
  installLockArgv,
  LOCK_BUSY_EXIT,
  OS_RELEASE,
  REBOOT,
  REBOOT_REQUIRED,
  REBOOT_REQUIRED_PKGS,
  scriptArgv,
  sudo,
  TRUE,
  type Family,
} from './commands';
import { SshSession, withSession, type RunResult, type SshEndpoint } from './connection';
import {
  DNF_CHECK_UPDATE,
  DNF_MAKECACHE,
  DNF_NEEDS_RESTARTING,
  DNF_UPDATEINFO,
  dnfPatches,
  dnfUpgradeArgv,
  normalizeEvr,
  parseCheckUpdate,
  parseNeedsRestarting,
  parseRpmQuery,
  parseUpdateinfoList,
  rpmQueryArgv,
} from './dnf';
import { parseScriptRef } from '../../../domain/scripts';
import { parsePatchId, type PackageRef } from './validate';

export interface SshDriverOptions {
  /** Where `keyRef.env` is looked up; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** SSH handshake limit per connection attempt; default 10 s. */
  connectTimeoutMs?: number;
  /** How long an install waits for another attempt's lock on the same host; default 60 s. */
  lockWaitSeconds?: number;
  /** A package is not started when less than this is left before the install's deadline; default 2 min. */
  perPackageMs?: number;
  /** Longest pause between reachability probes while waiting for a reboot; default 5 s. */
  maxPollMs?: number;
}

/** What the driver learns from a host, beyond the domain's Assessment. */
export interface HostAssessment {
  family: Family;
  assessment: Assessment;
  /** Packages that asked for the pending reboot (`/var/run/reboot-required.pkgs`, `needs-restarting -r`). */
  rebootRequestedBy: string[];
}

const BOOT_ID_PATTERN = /^[0-9a-f-]{36}$/;
const tail = (s: string, n = 800) => (s.length > n ? s.slice(-n) : s).trim();

/** Calls that change a host run one at a time per host within this process (the remote lock guards across workers). */
const hostQueues = new Map<string, Promise<unknown>>();
function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = hostQueues.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  hostQueues.set(
    key,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * Patches one Linux machine over SSH (apt or dnf, detected from `/etc/os-release`). Every command is
 * an argv (see quote.ts); root is used only through the sudo rules of sudoers.ts. The host key is
 * checked against the fleet's pin on every connection.
 */
export class SshDriver implements PatchDriver {
  private readonly env: NodeJS.ProcessEnv;
  private readonly connectTimeoutMs: number;
  private readonly lockWaitSeconds: number;
  private readonly perPackageMs: number;
  private readonly maxPollMs: number;

  constructor(
    readonly settings: SshSettings,
    options: SshDriverOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.lockWaitSeconds = options.lockWaitSeconds ?? 60;
    this.perPackageMs = options.perPackageMs ?? 120_000;
    this.maxPollMs = options.maxPollMs ?? 5_000;
  }

  private get hostKey(): string {
    return `${this.settings.host}:${this.settings.port}`;
  }

  /** Loads the private key from its reference; key material never leaves the worker. */
  private async endpoint(): Promise<SshEndpoint> {
    const ref = this.settings.keyRef;
    let privateKey: string | Buffer;
    if ('path' in ref) {
      try {
        privateKey = await readFile(ref.path);
      } catch (err) {
        throw new DriverError(
          'Unreachable',
          `cannot read the SSH key ${ref.path}: ${(err as Error).message}`,
        );
      }
    } else {
      const value = this.env[ref.env];
      if (!value)
        throw new DriverError(
          'Unreachable',
          `the environment variable ${ref.env} holding the SSH key is not set`,
        );
      privateKey = value;
    }
    const { host, port, user, hostKeySha256 } = this.settings;
    return { host, port, user, privateKey, hostKeySha256 };
  }

  private async session<T>(
    fn: (s: SshSession) => Promise<T>,
    readyTimeoutMs = this.connectTimeoutMs,
  ): Promise<T> {
    return withSession(await this.endpoint(), fn, { readyTimeoutMs });
  }

  private async readBootId(s: SshSession): Promise<string> {
    const r = await s.run(BOOT_ID, { timeoutMs: 15_000 });
    const id = r.stdout.trim();
    if (r.exitCode !== 0 || !BOOT_ID_PATTERN.test(id))
      throw new DriverError(
        'Unreachable',
        `${this.hostKey}: cannot read the boot id (${tail(r.stderr) || `exit ${r.exitCode}`})`,
      );
    return id;
  }

  private async family(s: SshSession): Promise<Family> {
    const r = await s.run(OS_RELEASE, { timeoutMs: 15_000 });
    const family = r.exitCode === 0 ? familyOf(r.stdout) : undefined;
    if (!family)
      throw new DriverError(
        'InstallFailed',
        `${this.hostKey}: not an apt or dnf system (/etc/os-release: ${tail(r.stdout, 200)})`,
      );
    return family;
  }

  /** Runs a privileged command; a refusal by sudo is a configuration error, reported as such. */
  private async runRoot(s: SshSession, argv: readonly string[], timeoutMs: number): Promise<RunResult> {
    const r = await s.run(sudo(argv), { timeoutMs });
    if (r.exitCode === 1 && /^sudo: /m.test(r.stderr))
      throw new DriverError(
        'InstallFailed',
        `${this.hostKey}: sudo refused "${argv.join(' ')}": ${tail(r.stderr, 300)} (see docs/ssh-driver.md for the rules)`,
      );
    return r;
  }

  async bootId(target: MachineTarget): Promise<string> {
    void target;
    return this.session((s) => this.readBootId(s));
  }

  async assess(target: MachineTarget): Promise<Assessment> {
    return (await this.assessHost(target)).assessment;
  }

  async assessHost(target: MachineTarget): Promise<HostAssessment> {
    return this.session(async (s) => {
      const bootId = await this.readBootId(s);
      const family = await this.family(s);
      const assessedAt = new Date().toISOString();
      if (family === 'apt') {
        const update = await this.runRoot(s, APT_UPDATE, 10 * 60_000);
        if (update.exitCode !== 0)
          throw new DriverError(
            'InstallFailed',
            `${this.hostKey}: apt-get update failed: ${tail(update.stderr)}`,
          );
        const sim = await s.run(APT_SIMULATE_UPGRADE, { timeoutMs: 5 * 60_000 });
        if (sim.exitCode !== 0)
          throw new DriverError(
            'InstallFailed',
            `${this.hostKey}: apt-get -s dist-upgrade failed: ${tail(sim.stderr)}`,
          );
        const pending = (await s.run(REBOOT_REQUIRED, { timeoutMs: 15_000 })).exitCode === 0;
        const pkgs = pending ? await s.run(REBOOT_REQUIRED_PKGS, { timeoutMs: 15_000 }) : undefined;
        return {
          family,
          rebootRequestedBy: pkgs?.exitCode === 0 ? parseRebootRequiredPkgs(pkgs.stdout) : [],
          assessment: {
            machine: target.name,
            assessedAt,
            bootId,
            rebootPending: pending,
            patches: aptPatches(parseAptSimulation(sim.stdout)),
          },
        };
      }
      const cache = await this.runRoot(s, DNF_MAKECACHE, 10 * 60_000);
      if (cache.exitCode !== 0)
        throw new DriverError(
          'InstallFailed',
          `${this.hostKey}: dnf makecache failed: ${tail(cache.stderr)}`,
        );
      const check = await s.run(DNF_CHECK_UPDATE, { timeoutMs: 5 * 60_000 });
      if (check.exitCode !== 0 && check.exitCode !== 100)
        throw new DriverError(
          'InstallFailed',
          `${this.hostKey}: dnf check-update failed: ${tail(check.stderr)}`,
        );
      const info = await s.run(DNF_UPDATEINFO, { timeoutMs: 5 * 60_000 });
      const restart = await s.run(DNF_NEEDS_RESTARTING, { timeoutMs: 60_000 });
      return {
        family,
        rebootRequestedBy: restart.exitCode === 1 ? parseNeedsRestarting(restart.stdout) : [],
        assessment: {
          machine: target.name,
          assessedAt,
          bootId,
          rebootPending: restart.exitCode === 1,
          patches: dnfPatches(
            parseCheckUpdate(check.stdout),
            info.exitCode === 0 ? parseUpdateinfoList(info.stdout) : [],
          ),
        },
      };
    });
  }

  private async installedVersions(
    s: SshSession,
    family: Family,
    names: string[],
  ): Promise<Map<string, string[]>> {
    if (names.length === 0) return new Map();
    const r = await s.run(family === 'apt' ? dpkgQueryArgv(names) : rpmQueryArgv(names), {
      timeoutMs: 60_000,
    });
    return family === 'apt' ? parseDpkgQuery(r.stdout) : parseRpmQuery(r.stdout);
  }

  /**
   * Upgrades exactly `patchIds` (`name=version`), one package at a time, under the host's install lock:
   * - an id that does not parse as a valid package reference is Failed and never reaches the host;
   * - a package already at the target version is Installed without running anything;
   * - a package is not started when less than `perPackageMs` is left before `deadline`: Pending;
   * - afterwards the installed version decides: Installed when it is the target, else Failed.
   */
  async install(
    target: MachineTarget,
    request: { patchIds: string[]; deadline: number; onProgress?: (installed: number) => void },
  ): Promise<InstallResult> {
    void target;
    return serialized(this.hostKey, () =>
      this.session(async (s) => {
        const family = await this.family(s);
        const ids = [...new Set(request.patchIds)];
        const refs = new Map<string, PackageRef>();
        const outcome = new Map<string, PatchInstallState>();
        for (const id of ids) {
          const ref = parsePatchId(family, id);
          if (ref) refs.set(id, ref);
          else outcome.set(id, 'Failed');
        }
        let release: () => void;
        try {
          release = await s.hold(installLockArgv(this.lockWaitSeconds), {
            readyLine: 'offpeak-lock-held',
            timeoutMs: (this.lockWaitSeconds + 15) * 1000,
          });
        } catch (err) {
          const code = (err as { exitCode?: number }).exitCode;
          throw new DriverError(
            'Unreachable',
            code === LOCK_BUSY_EXIT
              ? `${this.hostKey}: another install holds the host's lock`
              : `${this.hostKey}: cannot take the install lock: ${(err as Error).message}`,
          );
        }
        let windowExceeded = false;
        try {
          const names = [...new Set([...refs.values()].map((r) => r.name))];
          const before = await this.installedVersions(s, family, names);
          const same = (have: string[] | undefined, want: string) =>
            (have ?? []).some((v) =>
              family === 'apt' ? v === want : normalizeEvr(v) === normalizeEvr(want),
            );
          let installed = 0;
          for (const [id, ref] of refs)
            if (same(before.get(ref.name), ref.version)) {
              outcome.set(id, 'Installed');
              installed++;
            }
          for (const [id, ref] of refs) {
            if (outcome.has(id)) continue;
            const left = request.deadline - Date.now();
            if (left < this.perPackageMs) {
              outcome.set(id, 'Pending');
              windowExceeded = true;
              continue;
            }
            const argv = family === 'apt' ? aptInstallArgv([ref]) : dnfUpgradeArgv([ref]);
            // The deadline bounds starting; a package that started is given until the deadline (at most 4 h).
            await this.runRoot(s, argv, Math.min(left, 4 * 3_600_000));
            const after = await this.installedVersions(s, family, [ref.name]);
            const ok = same(after.get(ref.name), ref.version);
            outcome.set(id, ok ? 'Installed' : 'Failed');
            if (ok) request.onProgress?.(++installed);
          }
          const rebootRequired =
            family === 'apt'
              ? (await s.run(REBOOT_REQUIRED, { timeoutMs: 15_000 })).exitCode === 0
              : (await s.run(DNF_NEEDS_RESTARTING, { timeoutMs: 60_000 })).exitCode === 1;
          return {
            patches: ids.map((patchId) => ({ patchId, state: outcome.get(patchId) ?? 'Failed' })),
            rebootRequired,
            maintenanceWindowExceeded: windowExceeded,
          };
        } finally {
          release();
        }
      }),
    );
  }

  /** Reboots only while the host still has `expectedBootId`; a retry after the reboot finds a new id and does nothing. */
  async reboot(target: MachineTarget, request: { expectedBootId: string }): Promise<{ rebooted: boolean }> {
    void target;
    return serialized(this.hostKey, () =>
      this.session(async (s) => {
        if ((await this.readBootId(s)) !== request.expectedBootId) return { rebooted: false };
        // The connection usually drops while the command runs: that is the reboot, not a failure.
        const r = await this.runRoot(s, REBOOT, 30_000);
        if (r.exitCode !== null && r.exitCode !== 0)
          throw new DriverError(
            'Unreachable',
            `${this.hostKey}: reboot exited ${r.exitCode}: ${tail(r.stderr)}`,
          );
        return { rebooted: true };
      }),
    );
  }

  /**
   * Polls until the host answers over SSH (with its pinned key) with a boot id other than
   * `previousBootId`, within `timeoutMs`; otherwise DidNotComeBack, which is not retried. A changed host
   * key after the reboot fails at once with HostKeyMismatch.
   */
  async waitForBoot(
    target: MachineTarget,
    request: { previousBootId: string; timeoutMs: number },
  ): Promise<{ bootId: string }> {
    const until = Date.now() + request.timeoutMs;
    let pause = 250;
    let last = 'not reached yet';
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) break;
      try {
        const id = await this.session(
          (s) => this.readBootId(s),
          Math.min(this.connectTimeoutMs, Math.max(left, 1000)),
        );
        if (id !== request.previousBootId) return { bootId: id };
        last = 'still up with the boot id from before the reboot';
      } catch (err) {
        if (err instanceof DriverError && err.kind === 'HostKeyMismatch') throw err;
        last = (err as Error).message;
      }
      await delay(Math.min(pause, Math.max(0, until - Date.now())));
      pause = Math.min(pause * 2, this.maxPollMs);
    }
    throw new DriverError(
      'DidNotComeBack',
      `${target.name} (${this.hostKey}) did not come back within ${Math.round(request.timeoutMs / 1000)} s: ${last}`,
    );
  }

  /**
   * Runs a pre/post script (docs/ssh-driver.md): a path on the host with its argument list, or a
   * shipped `#!/bin/sh` script; unprivileged, under `timeout`. An invalid reference runs nothing and
   * fails with ScriptFailed.
   */
  async runScript(
    target: MachineTarget,
    request: { kind: 'pre' | 'post'; script: string; args?: readonly string[]; timeoutMs: number },
  ): Promise<{ exitCode: number; output: string }> {
    const parsed = parseScriptRef(request.script, request.args);
    if (!parsed.ok)
      throw new DriverError(
        'ScriptFailed',
        `${target.name}: invalid ${request.kind}-script reference: ${parsed.problem}`,
      );
    const { argv, stdin } = scriptArgv(parsed.value, request.timeoutMs);
    const r = await this.session((s) => s.run(argv, { stdin, timeoutMs: request.timeoutMs + 15_000 }));
    const exitCode = r.exitCode ?? 124;
    const output = tail(`${r.stdout}${r.stderr}`, 4000);
    return {
      exitCode,
      output: exitCode === 124 ? `${output}\n(timed out after ${request.timeoutMs} ms)`.trim() : output,
    };
  }

  /** SSH reachability, then the fleet's optional command (exit 0) and HTTP probe (2xx). */
  async health(target: MachineTarget): Promise<{ healthy: boolean; detail: string }> {
    void target;
    const probe = this.settings.health;
    try {
      const detail = await this.session(async (s) => {
        const r = await s.run(probe?.command ?? TRUE, { timeoutMs: 60_000 });
        if (r.exitCode !== 0)
          return `health command exited ${r.exitCode}: ${tail(`${r.stdout}${r.stderr}`, 300)}`;
        return undefined;
      });
      if (detail) return { healthy: false, detail };
    } catch (err) {
      return { healthy: false, detail: (err as Error).message };
    }
    if (probe?.httpUrl) {
      try {
        const res = await fetch(probe.httpUrl, { signal: AbortSignal.timeout(15_000), redirect: 'manual' });
        if (res.status < 200 || res.status >= 300)
          return { healthy: false, detail: `${probe.httpUrl} answered ${res.status}` };
      } catch (err) {
        return { healthy: false, detail: `${probe.httpUrl}: ${(err as Error).message}` };
      }
    }
    return {
      healthy: true,
      detail: `reachable over SSH${probe?.command ? ', health command passed' : ''}${probe?.httpUrl ? ', HTTP probe passed' : ''}`,
    };
  }
}
