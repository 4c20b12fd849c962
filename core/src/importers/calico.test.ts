import { describe, expect, it } from 'vitest';
import { calicoFlowConverter, calicoLineToFlow, calicoLogToRecord, looksLikeCalico } from './calico.js';

const F = 'flows.log';

function log(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    start_time: 1763629800,
    end_time: 1763630100,
    source_ip: '10.244.1.23',
    source_name: 'frontend-7d9f8b6c4-x2kqp',
    source_name_aggr: 'frontend-7d9f8b6c4-*',
    source_namespace: 'shop',
    source_port: null,
    source_type: 'wep',
    dest_ip: '10.244.2.41',
    dest_name: 'cart-5f7c9d8b7-9wz4d',
    dest_name_aggr: 'cart-5f7c9d8b7-*',
    dest_namespace: 'shop',
    dest_port: 8080,
    dest_type: 'wep',
    dest_domains: null,
    proto: 'tcp',
    action: 'allow',
    reporter: 'src',
    num_flows: 14,
    num_flows_started: 12,
    num_flows_completed: 12,
    host: 'worker-1',
    ...extra,
  };
}

describe('calicoLineToFlow', () => {
  it('maps concrete workload endpoints to <ns>/<pod>, num_flows_started to count, epoch seconds to RFC 3339', () => {
    expect(calicoLineToFlow(JSON.stringify(log({})), 1, F)).toEqual({
      ok: true,
      record: {
        src: 'shop/frontend-7d9f8b6c4-x2kqp',
        dst: 'shop/cart-5f7c9d8b7-9wz4d',
        protocol: 'TCP',
        port: 8080,
        srcWorkload: 'shop/frontend',
        dstWorkload: 'shop/cart',
        count: 12,
        firstSeen: '2025-11-20T09:10:00Z',
        lastSeen: '2025-11-20T09:15:00Z',
      },
    });
  });

  it('imports a connection reported by both sides once, and one reported by either side alone', () => {
    const convert = calicoFlowConverter();
    const line = (extra: Record<string, unknown>) => JSON.stringify(log(extra));
    // Both reports of 12 connections (the destination's first): one record of 12.
    expect(convert(line({ reporter: 'dst' }), 1, F)).toMatchObject({ ok: true, record: { count: 12 } });
    expect(convert(line({ reporter: 'src' }), 2, F)).toEqual({
      ok: true,
      skipped: 'report of connections the other side already reported',
    });
    // The next interval's source report adds 3 connections; the destination's 5 take it 2 further.
    expect(convert(line({ num_flows_started: 3 }), 3, F)).toMatchObject({ record: { count: 3 } });
    expect(convert(line({ reporter: 'dst', num_flows_started: 5 }), 4, F)).toMatchObject({
      record: { count: 2 },
    });
    // A deny at the destination (the source's Felix allowed it, or logs only from the destination
    // node): the destination's report alone is the connection, not dropped.
    const deny = convert(line({ reporter: 'dst', action: 'deny', dest_port: 5432 }), 5, F);
    expect(deny).toMatchObject({
      ok: true,
      record: { dst: 'shop/cart-5f7c9d8b7-9wz4d', port: 5432, count: 12 },
    });
    // From outside the cluster only the destination reports: kept, with the source IP.
    const r = calicoLogToRecord(
      log({
        reporter: 'dst',
        source_type: 'net',
        source_name: '-',
        source_name_aggr: 'pub',
        source_namespace: '-',
        source_ip: '203.0.113.9',
      }),
    );
    expect('record' in r && r.record.src).toBe('203.0.113.9');
  });

  it('uses the IP for aggregated names and skips with a note when there is none', () => {
    const viaIp = calicoLogToRecord(log({ dest_name: '-', dest_ip: '10.244.2.41' }));
    expect('record' in viaIp && viaIp.record.dst).toBe('10.244.2.41');
    expect(calicoLogToRecord(log({ source_name: '-', source_ip: null }))).toEqual({
      skipped: 'source "shop/frontend-7d9f8b6c4-*" is aggregated and has no IP',
    });
    expect(
      calicoLogToRecord(
        log({ dest_type: 'net', dest_name: '-', dest_name_aggr: 'pub', dest_namespace: '-', dest_ip: '-' }),
      ),
    ).toEqual({
      skipped: 'dest "pub" is aggregated and has no IP',
    });
  });

  it('reads dest_domains, numeric protocols, and counts a still-open connection once', () => {
    const r = calicoLogToRecord(
      log({
        dest_type: 'net',
        dest_name: '-',
        dest_ip: '54.187.174.169',
        dest_port: 443,
        dest_domains: ['api.stripe.com'],
        proto: '6',
        num_flows_started: 0,
        num_flows: 1,
      }),
    );
    expect('record' in r && r.record).toEqual({
      src: 'shop/frontend-7d9f8b6c4-x2kqp',
      dst: '54.187.174.169',
      protocol: 'TCP',
      port: 443,
      serverName: 'api.stripe.com',
      srcWorkload: 'shop/frontend',
      firstSeen: '2025-11-20T09:10:00Z',
      lastSeen: '2025-11-20T09:15:00Z',
    });
    expect(calicoLogToRecord(log({ proto: 'icmp', dest_port: null }))).toEqual({
      skipped: 'protocol icmp is not TCP, UDP or SCTP',
    });
    expect(calicoLogToRecord(log({ num_flows_started: 0, num_flows: 0 }))).toEqual({
      skipped: 'no connection in this interval',
    });
  });

  it('accepts an Elasticsearch hit and refuses what is not a flow log, at file:line', () => {
    const r = calicoLineToFlow(
      JSON.stringify({
        _index: 'tigera_secure_ee_flows.c.20251120',
        _source: log({ proto: 'udp', dest_port: 53 }),
      }),
      2,
      F,
    );
    expect(r.ok && r.record).toMatchObject({ protocol: 'UDP', port: 53 });
    expect(calicoLineToFlow('{"src":"a/b"}', 5, F)).toMatchObject({ ok: false, error: { file: F, line: 5 } });
    expect(looksLikeCalico(log({}))).toBe(true);
  });
});

describe('calico identity fields (SPEC section 7, flow endpoints outlive their pods)', () => {
  it('reads the workload from source_name_aggr and the labels from source_labels', () => {
    const r = calicoLogToRecord(
      log({
        source_labels: {
          labels: ['app=frontend', 'pod-template-hash=7d9f8b6c4', 'projectcalico.org/namespace=shop'],
        },
        dest_name: 'db-0',
        dest_name_aggr: 'db-*',
        dest_labels: ['app=db', 'controller-revision-hash=db-6b8f7'],
      }),
    );
    expect('record' in r && r.record).toMatchObject({
      src: 'shop/frontend-7d9f8b6c4-x2kqp',
      srcWorkload: 'shop/frontend',
      srcLabels: { app: 'frontend' },
      dst: 'shop/db-0',
      dstWorkload: 'shop/db',
      dstLabels: { app: 'db' },
    });
  });

  it('records nothing for labels aggregated away, and no identity for an address end', () => {
    const r = calicoLogToRecord(
      log({
        source_labels: '-',
        dest_type: 'net',
        dest_name: '-',
        dest_name_aggr: 'pub',
        dest_ip: '54.1.2.3',
      }),
    );
    expect('record' in r && r.record).toMatchObject({ srcWorkload: 'shop/frontend', dst: '54.1.2.3' });
    expect('record' in r && 'srcLabels' in r.record).toBe(false);
    expect('record' in r && 'dstWorkload' in r.record).toBe(false);
  });
});
