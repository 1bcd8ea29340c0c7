import { randomUUID } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { serialized } from './serial';

/** Who changed the host, for the record. */
export interface Stamp {
  at: string;
  operation: string;
  attempt: number;
}

/** What the simulated host remembers, one JSON file per machine. */
export interface MachineState {
  machine: string;
  bootId: string;
  /** Reboots so far. */
  boots: number;
  /** Until this instant (epoch ms) the machine is rebooting and cannot be reached. */
  rebootingUntil?: number;
  /** An installed patch asked for a reboot that has not happened yet. */
  rebootPending: boolean;
  installed: Record<string, Stamp>;
  lastReboot?: Stamp;
}

export function newBootId(): string {
  return randomUUID();
}

function freshState(machine: string): MachineState {
  return { machine, bootId: newBootId(), boots: 0, rebootPending: false, installed: {} };
}

let tempCounter = 0;

/**
 * Machine state under `<stateDir>/machines/<name>.json`, written atomically (temp file + rename) so a
 * reader never sees half a file and a killed process leaves the previous state intact. Access to one
 * machine is serialised within the process; different machines proceed concurrently.
 */
export class MachineStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.resolve(stateDir, 'machines');
  }

  fileOf(machine: string): string {
    return path.join(this.dir, `${encodeURIComponent(machine)}.json`);
  }

  /**
   * Runs `fn` with exclusive access to the machine's state (created on first use). `save` persists a
   * new state at once, so every host change is on disk before the next one starts.
   */
  async withMachine<T>(
    machine: string,
    fn: (state: MachineState, save: (next: MachineState) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    const file = this.fileOf(machine);
    return serialized(`machine:${file}`, async () => {
      const state = await this.load(machine, file);
      return fn(state, (next) => this.write(file, next));
    });
  }

  /** A snapshot of the machine's state (created on first use). */
  async read(machine: string): Promise<MachineState> {
    return this.withMachine(machine, async (state) => state);
  }

  private async load(machine: string, file: string): Promise<MachineState> {
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as MachineState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const state = freshState(machine);
    await this.write(file, state);
    return state;
  }

  private async write(file: string, state: MachineState): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const temp = `${file}.${process.pid}.${++tempCounter}.tmp`;
    await fs.writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, 'utf8');
    await fs.rename(temp, file);
  }
}
