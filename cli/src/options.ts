// Parsing option values that commander passes through as strings. Each failure is a usage error
// (exit 2) naming what was expected.
import type { Protocol } from '@nyx/core';
import type { FlowFileFormat } from '@nyx/io';
import { UsageError } from './errors.js';

/** The formats `readFlowFile` of @nyx/io reads. */
export type FlowFormat = FlowFileFormat;
export const FLOW_FORMATS: readonly FlowFormat[] = ['nyx', 'hubble', 'calico'];

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new UsageError(`--port ${value}: expected a port number from 1 to 65535`);
  }
  return port;
}

export function parseProtocol(value: string | undefined): Protocol {
  const protocol = (value ?? 'TCP').toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
    throw new UsageError(`--protocol ${value}: expected TCP, UDP or SCTP`);
  }
  return protocol;
}

export function parseFormat<F extends string>(
  option: string,
  value: string | undefined,
  allowed: readonly F[],
): F {
  const format = (value ?? allowed[0]) as F;
  if (!allowed.includes(format)) throw new UsageError(`${option} ${value}: expected ${allowed.join(' or ')}`);
  return format;
}

/** `--flow-format`: one of FLOW_FORMATS, or undefined (detected from the first record). */
export function parseFlowFormat(value: string | undefined): FlowFormat | undefined {
  return value === undefined ? undefined : parseFormat('--flow-format', value, FLOW_FORMATS);
}
