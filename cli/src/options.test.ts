import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseFlowFormat, parseFormat, parsePort, parseProtocol } from './options.js';

describe('option values', () => {
  it('accepts ports 1-65535 only, naming what was expected', () => {
    expect(parsePort('443')).toBe(443);
    expect(parsePort('65535')).toBe(65535);
    for (const bad of ['0', '65536', '-1', '8080a', '1.5', '']) {
      expect(() => parsePort(bad)).toThrow(UsageError);
    }
    expect(() => parsePort('99999')).toThrow('--port 99999: expected a port number from 1 to 65535');
  });

  it('defaults the protocol to TCP and accepts any case', () => {
    expect(parseProtocol(undefined)).toBe('TCP');
    expect(parseProtocol('udp')).toBe('UDP');
    expect(parseProtocol('SCTP')).toBe('SCTP');
    expect(() => parseProtocol('icmp')).toThrow('--protocol icmp: expected TCP, UDP or SCTP');
  });

  it('takes the first allowed format as the default', () => {
    expect(parseFormat('--format', undefined, ['text', 'json'] as const)).toBe('text');
    expect(parseFormat('--format', 'json', ['text', 'json'] as const)).toBe('json');
    expect(() => parseFormat('--format', 'yaml', ['text', 'json'] as const)).toThrow('expected text or json');
  });

  it('leaves the flow format undefined (detect) unless given', () => {
    expect(parseFlowFormat(undefined)).toBeUndefined();
    expect(parseFlowFormat('hubble')).toBe('hubble');
    expect(() => parseFlowFormat('pcap')).toThrow(UsageError);
  });
});
