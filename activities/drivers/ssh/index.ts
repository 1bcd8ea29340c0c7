export { SshDriver, type SshDriverOptions, type HostAssessment } from './driver';
export { fingerprintOf, SshSession, withSession, type SshEndpoint, type RunResult } from './connection';
export { sudoersFor } from './sudoers';
export { commandLine, quoteArg } from './quote';
export { parsePatchId, isValidPackageName, isValidVersion } from './validate';
export { parseScriptRef } from '../../../domain/scripts';
