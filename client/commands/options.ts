import { Option } from 'commander';

/** `-o, --output`: how stdout is written (human notes always go to stderr). */
export function outputOption(formats: string[]): Option {
  return new Option('-o, --output <format>', 'what stdout carries: a table for people, JSON for tools')
    .choices(formats)
    .default(formats[0]);
}

export function whoAmI(): string {
  return process.env.OFFPEAK_USER ?? process.env.USER ?? process.env.USERNAME ?? 'unknown';
}
