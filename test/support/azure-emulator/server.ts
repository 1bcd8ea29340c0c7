import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { selfSignedCert } from './cert';
import { installBodyProblem, type EmulatedPatch, type InstallBody } from './patches';
import { RESOURCE_GRAPH_API_VERSION, RESOURCE_GRAPH_PATH, resourceGraphAnswer } from './resource-graph';
import { arcMachineOf, completeOperation, instanceViewOf, vmOf } from './responses';

/**
 * A local HTTPS emulator of exactly the ARM operations the azure driver uses, for contract tests with
 * the real SDK. Request and response bodies follow the examples published in Azure/azure-rest-api-specs
 * (each handler names its example); the emulator adds what the examples cannot show: a machine's
 * state, the long-running-operation protocol (202 with Azure-AsyncOperation and/or Location, then
 * polls), injected faults, and a ledger of every change it made, like the simulator's.
 * It also serves App Service's managed-identity token endpoint, so a worker process can sign in with
 * DefaultAzureCredential (IDENTITY_ENDPOINT / IDENTITY_HEADER) without reaching Entra ID.
 */

export interface EmulatedMachine {
  resourceId: string;
  os: 'Windows' | 'Linux';
  patches: EmulatedPatch[];
  rebootPending?: boolean;
  /** VM power state (PowerState/<this>) or Arc agent status. */
  power?: 'running' | 'stopped';
  arcStatus?: 'Connected' | 'Disconnected';
  /** Installs finish after this many of their selected patches, with maintenanceWindowExceeded. */
  windowFitsPatches?: number;
  /** KB numbers or package names that fail to install. */
  failing?: string[];
  /** Azure's reboot inside installPatches fails. */
  rebootFails?: boolean;
  /** VM patch settings (default: AutomaticByPlatform, handed to customer schedules by the bypass flag). */
  patchMode?: 'AutomaticByPlatform' | 'AutomaticByOS' | 'ImageDefault' | 'Manual';
  bypassPlatformSafetyChecksOnUserSchedule?: boolean;
  /** What Resource Graph and the instance view tell of the machine (the live import reads these). */
  location?: string;
  zone?: '1' | '2' | '3';
  /** An availability set's name (in the machine's resource group), with the VM's platform domains. */
  availabilitySet?: string;
  updateDomain?: number;
  faultDomain?: number;
  tags?: Record<string, string>;
  image?: { publisher: string; offer: string; sku: string };
  /** A Windows VM's osProfile.windowsConfiguration.timeZone (a Windows zone name). */
  timeZone?: string;
}

export interface MachineState extends EmulatedMachine {
  installed: Set<string>;
  kind: 'vm' | 'arc';
  subscriptionId: string;
}

export interface LedgerEntry {
  at: number;
  resourceId: string;
  kind: 'assessPatches' | 'installPatches' | 'reboot';
  operationId: string;
  /** installPatches: the patches installed (KB numbers, or name_version). */
  installed?: string[];
}

export interface Fault {
  method?: string;
  /** Matches when the request path contains this. */
  path: string;
  status: number;
  code?: string;
  message?: string;
  retryAfterSeconds?: number;
  /** Answer only after this long (a client timeout shorter than it sees no answer). */
  hangMs?: number;
  times?: number;
}

export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  apiVersion?: string;
  status: number;
  body?: unknown;
}

export interface Operation {
  id: string;
  machine: MachineState;
  kind: 'assessPatches' | 'installPatches';
  body: InstallBody;
  polls: number;
  held: boolean;
  result?: Record<string, unknown>;
  startedAt: string;
}

const TOKEN = 'emulator-token';
const IDENTITY_HEADER = 'emulator-identity-header';

export class AzureEmulator {
  readonly ledger: LedgerEntry[] = [];
  readonly requests: LoggedRequest[] = [];
  /** Send `Azure-AsyncOperation` next to `Location` on 202s (ARM does for compute; some examples show only Location). */
  asyncOperationHeader = true;
  /** Polls an operation answers InProgress before it completes. */
  pollsToComplete = 1;
  /** The Retry-After of answers to polls of a running operation (the SDK waits this long before the next poll). */
  pollRetryAfterSeconds = 0;
  private readonly machines = new Map<string, MachineState>();
  private readonly operations = new Map<string, Operation>();
  private faults: Array<Fault & { left: number }> = [];
  private holding: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly ca: string,
    readonly caPath: string,
  ) {}

  static async start(): Promise<AzureEmulator> {
    const { key, cert, certPath } = selfSignedCert();
    const handler: { emulator?: AzureEmulator } = {};
    const server = createServer({ key, cert }, (req, res) => void handler.emulator!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    handler.emulator = new AzureEmulator(server, `https://127.0.0.1:${port}`, cert, certPath);
    return handler.emulator;
  }

  /** The environment that makes DefaultAzureCredential in a worker process sign in here, and trust us. */
  identityEnv(): NodeJS.ProcessEnv {
    return {
      IDENTITY_ENDPOINT: `${this.url}/msi/token`,
      IDENTITY_HEADER,
      NODE_EXTRA_CA_CERTS: this.caPath,
      OFFPEAK_AZURE_ENDPOINT: this.url,
    };
  }

  /** A credential for in-process tests: the token this emulator accepts. */
  credential() {
    return { getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  }

  add(machine: EmulatedMachine): void {
    const m =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/[^/]+\/providers\/(Microsoft\.Compute\/virtualMachines|Microsoft\.HybridCompute\/machines)\/[^/]+$/i.exec(
        machine.resourceId,
      );
    if (!m) throw new Error(`not a VM or Arc machine resource ID: ${machine.resourceId}`);
    this.machines.set(machine.resourceId.toLowerCase(), {
      power: 'running',
      arcStatus: 'Connected',
      ...machine,
      installed: new Set(),
      kind: /HybridCompute/i.test(m[2]) ? 'arc' : 'vm',
      subscriptionId: m[1],
    });
  }

  machine(resourceId: string): MachineState {
    const m = this.machines.get(resourceId.toLowerCase());
    if (!m) throw new Error(`no emulated machine ${resourceId}`);
    return m;
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Keep these operations InProgress until `release()` (a worker can be killed meanwhile). */
  hold(verbs: Array<'installPatches' | 'assessPatches'> = ['installPatches']): void {
    this.holding = verbs;
  }

  release(): void {
    this.holding = [];
    for (const op of this.operations.values()) op.held = false;
  }

  /** Operations submitted and still running. */
  running(): Array<{ resourceId: string; kind: string }> {
    return [...this.operations.values()]
      .filter((o) => !o.result)
      .map((o) => ({ resourceId: o.machine.resourceId, kind: o.kind }));
  }

  requestsTo(verb: string, method = 'POST'): LoggedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.endsWith(`/${verb}`));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(dirname(this.caPath), { recursive: true, force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const method = req.method ?? 'GET';
    const log: LoggedRequest = {
      at: Date.now(),
      method,
      path: url.pathname,
      apiVersion: url.searchParams.get('api-version') ?? undefined,
      status: 0,
      body,
    };
    this.requests.push(log);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-ms-request-id': randomUUID(),
        ...headers,
      });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };

    if (url.pathname === '/msi/token') {
      // App Service managed identity protocol (api-version 2019-08-01), as @azure/identity calls it.
      if (req.headers['x-identity-header'] !== IDENTITY_HEADER)
        return send(401, { error: 'bad identity header' });
      return send(200, {
        access_token: TOKEN,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource: url.searchParams.get('resource'),
        token_type: 'Bearer',
      });
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(401, { error: { code: 'AuthenticationFailed', message: 'Authentication failed.' } });

    const fault = this.faults.find(
      (f) => f.left > 0 && url.pathname.includes(f.path) && (!f.method || f.method === method),
    );
    if (fault) {
      fault.left--;
      if (fault.hangMs) await new Promise((r) => setTimeout(r, fault.hangMs));
      return send(
        fault.status,
        {
          error: {
            code: fault.code ?? String(fault.status),
            message: fault.message ?? `injected ${fault.status}`,
          },
        },
        fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {},
      );
    }
    try {
      this.route(method, url, body as Record<string, unknown> | undefined, send);
    } catch (err) {
      send(500, { error: { code: 'InternalServerError', message: (err as Error).message } });
    }
  }

  private route(
    method: string,
    url: URL,
    body: Record<string, unknown> | undefined,
    send: (status: number, payload?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const path = url.pathname;
    if (method === 'POST' && path === RESOURCE_GRAPH_PATH) {
      const version = url.searchParams.get('api-version');
      if (version !== RESOURCE_GRAPH_API_VERSION)
        return send(400, {
          error: { code: 'InvalidApiVersionParameter', message: `api-version ${version} is not emulated` },
        });
      const answer = resourceGraphAnswer(body, this.machines.values());
      return send(answer.status, answer.body);
    }
    const op = /\/operations\/([^/]+)$/.exec(path) ?? /\/operationResults\/([^/]+)$/.exec(path);
    if (method === 'GET' && op) return this.poll(op[1], path.includes('/operationResults/'), send);

    const action = /^(.*)\/(assessPatches|installPatches|instanceView)$/.exec(path);
    const resourceId = action ? action[1] : path;
    const machine = this.machines.get(resourceId.toLowerCase());
    if (!machine)
      return send(404, {
        error: { code: 'ResourceNotFound', message: `The Resource '${resourceId}' was not found.` },
      });
    const verb = action?.[2];

    if (method === 'GET' && verb === 'instanceView' && machine.kind === 'vm')
      return send(200, instanceViewOf(machine));
    if (method === 'GET' && !verb && machine.kind === 'arc') return send(200, arcMachineOf(machine));
    if (method === 'GET' && !verb && machine.kind === 'vm') return send(200, vmOf(machine));
    if (method === 'POST' && (verb === 'assessPatches' || verb === 'installPatches')) {
      if ([...this.operations.values()].some((o) => o.machine === machine && !o.result))
        return send(409, {
          error: {
            code: 'Conflict',
            message:
              'The request failed due to conflict with a concurrent request. Another patch operation is in progress.',
          },
        });
      if (verb === 'installPatches') {
        const problem = installBodyProblem((body ?? {}) as InstallBody, machine.os);
        if (problem) return send(400, { error: { code: 'InvalidParameter', message: problem } });
      }
      const id = randomUUID();
      this.operations.set(id, {
        id,
        machine,
        kind: verb,
        body: (body ?? {}) as InstallBody,
        polls: 0,
        held: this.holding.includes(verb),
        startedAt: new Date().toISOString(),
      });
      return send(202, undefined, this.operationHeaders(machine, id));
    }
    send(405, { error: { code: 'MethodNotAllowed', message: `${method} ${path} is not emulated` } });
  }

  private operationHeaders(machine: MachineState, id: string): Record<string, string> {
    const ns = machine.kind === 'arc' ? 'Microsoft.HybridCompute' : 'Microsoft.Compute';
    const base = `${this.url}/subscriptions/${machine.subscriptionId}/providers/${ns}/locations/eastus`;
    return {
      location: `${base}/operationResults/${id}?monitor=true`,
      ...(this.asyncOperationHeader ? { 'azure-asyncoperation': `${base}/operations/${id}` } : {}),
      'retry-after': String(this.pollRetryAfterSeconds),
    };
  }

  private poll(
    id: string,
    resultUrl: boolean,
    send: (s: number, p?: unknown, h?: Record<string, string>) => void,
  ) {
    const op = this.operations.get(id);
    if (!op) return send(404, { error: { code: 'NotFound', message: `operation ${id} not found` } });
    op.polls++;
    if (!op.result && !op.held && op.polls > this.pollsToComplete)
      op.result = completeOperation(op, this.ledger);
    const done = op.result !== undefined;
    if (resultUrl)
      return done
        ? send(200, op.result)
        : send(202, undefined, { 'retry-after': String(this.pollRetryAfterSeconds) });
    // The Azure-AsyncOperation status resource: name, status, startTime (and endTime when done).
    send(
      200,
      {
        name: id,
        status: done ? 'Succeeded' : 'InProgress',
        startTime: op.startedAt,
        ...(done ? { endTime: new Date().toISOString(), properties: { output: op.result } } : {}),
      },
      done ? {} : { 'retry-after': String(this.pollRetryAfterSeconds) },
    );
  }
}
