import { Option } from 'commander';

export function outputOption(formats: string[]): Option {
  return new Option('--output <format>', 'output format').choices(formats).default(formats[0]);
}

export function whoAmI(): string {
  return process.env.OFFPEAK_USER ?? process.env.USER ?? process.env.USERNAME ?? 'unknown';
}
