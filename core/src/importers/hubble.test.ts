import { describe, expect, it } from 'vitest';
import { hubbleFlowToRecord, hubbleLineToFlow, looksLikeHubble } from './hubble.js';

const F = 'hubble.jsonl';
const frontend = { namespace: 'shop', pod_name: 'frontend-7d9f8b6c4-x2kqp', labels: ['k8s:app=frontend'] };
const cart = { namespace: 'shop', pod_name: 'cart-5f7c9d8b7-9wz4d', labels: ['k8s:app=cart'] };
const world = { identity: 2, labels: ['reserved:world'] };

function flow(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    time: '2026-11-20T09:14:03.118242514Z',
    verdict: 'FORWARDED',
    IP: { source: '10.244.1.23', destination: '10.244.2.41', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 51874, destination_port: 8080, flags: { SYN: true } } },
    source: frontend,
    destination: cart,
    Type: 'L3_L4',
    traffic_direction: 'EGRESS',
    is_reply: false,
    ...extra,
  };
}

describe('hubbleLineToFlow', () => {
  it('turns a pod-to-pod SYN into a record with pods as <ns>/<pod> and time as first/last seen', () => {
    expect(hubbleLineToFlow(JSON.stringify({ flow: flow({}), node_name: 'w1' }), 1, F)).toEqual({
      ok: true,
      record: {
        src: 'shop/frontend-7d9f8b6c4-x2kqp',
        dst: 'shop/cart-5f7c9d8b7-9wz4d',
        protocol: 'TCP',
        port: 8080,
        firstSeen: '2026-11-20T09:14:03.118242514Z',
        lastSeen: '2026-11-20T09:14:03.118242514Z',
        srcLabels: { app: 'frontend' },
        dstLabels: { app: 'cart' },
      },
    });
  });

  it('accepts a bare flow object and uses IPs for non-pod ends and destination_names as serverName', () => {
    const r = hubbleLineToFlow(
      JSON.stringify(
        flow({
          IP: { source: '10.244.1.57', destination: '54.187.174.169' },
          l4: { TCP: { destination_port: 443, flags: { SYN: true } } },
          source: { namespace: 'payments', pod_name: 'payments-api-1' },
          destination: world,
          destination_names: ['api.stripe.com'],
        }),
      ),
      2,
      F,
    );
    expect(r.ok && r.record).toMatchObject({
      src: 'payments/payments-api-1',
      dst: '54.187.174.169',
      port: 443,
      serverName: 'api.stripe.com',
    });
  });

  it('keeps ingress observations only when the source is not a pod', () => {
    expect(hubbleFlowToRecord(flow({ traffic_direction: 'INGRESS' }))).toEqual({
      skipped: 'ingress observation of a connection already seen at its source pod',
    });
    const r = hubbleFlowToRecord(
      flow({
        traffic_direction: 'INGRESS',
        source: world,
        IP: { source: '203.0.113.9', destination: '10.244.2.41' },
      }),
    );
    expect('record' in r && r.record.src).toBe('203.0.113.9');
  });

  it('skips replies, non-opening TCP packets, ICMP, trace and HTTP events, and non-flow lines', () => {
    expect(hubbleFlowToRecord(flow({ is_reply: true }))).toEqual({ skipped: 'reply packet' });
    expect(
      hubbleFlowToRecord(flow({ l4: { TCP: { destination_port: 8080, flags: { ACK: true } } } })),
    ).toEqual({
      skipped: 'TCP packet after the connection opened',
    });
    expect(hubbleFlowToRecord(flow({ l4: { ICMPv4: { type: 8 } } }))).toEqual({
      skipped: 'not TCP, UDP or SCTP',
    });
    expect(hubbleFlowToRecord(flow({ Type: 'SOCK' }))).toEqual({ skipped: 'SOCK event' });
    expect(
      hubbleFlowToRecord(flow({ Type: 'L7', l7: { type: 'REQUEST', http: { method: 'GET' } } })),
    ).toEqual({
      skipped: 'L7 event of an already counted connection',
    });
    expect(hubbleLineToFlow('{"lost_events":{"num_events_lost":"3"}}', 9, F)).toEqual({
      ok: true,
      skipped: 'not a flow (lost_events)',
    });
  });

  it('counts a TCP flow without flags and takes serverName from an L7 DNS request', () => {
    expect('record' in hubbleFlowToRecord(flow({ l4: { TCP: { destination_port: 8080 } } }))).toBe(true);
    const r = hubbleFlowToRecord(
      flow({
        Type: 'L7',
        l4: { UDP: { source_port: 40322, destination_port: 53 } },
        l7: { type: 'REQUEST', dns: { query: 'api.stripe.com.', qtypes: ['A'] } },
      }),
    );
    expect('record' in r && r.record).toMatchObject({
      protocol: 'UDP',
      port: 53,
      serverName: 'api.stripe.com',
    });
  });

  it('reports malformed JSON at file:line', () => {
    expect(hubbleLineToFlow('{"flow":', 4, F)).toMatchObject({ ok: false, error: { file: F, line: 4 } });
  });

  it('recognises Hubble lines', () => {
    expect(looksLikeHubble({ flow: flow({}) })).toBe(true);
    expect(looksLikeHubble(flow({}))).toBe(true);
    expect(looksLikeHubble({ lost_events: { num_events_lost: '3' }, node_name: 'w1' })).toBe(true);
    expect(looksLikeHubble({ src: 'a/b', dst: 'c/d' })).toBe(false);
  });
});

describe('hubble identity fields (SPEC section 7, flow endpoints outlive their pods)', () => {
  it('records the workload and the pod labels of each pod end, leaving out Cilium’s own labels', () => {
    const source = {
      ...frontend,
      workloads: [{ name: 'frontend', kind: 'Deployment' }],
      labels: [
        'k8s:app=frontend',
        'k8s:tier=web',
        'k8s:io.kubernetes.pod.namespace=shop',
        'k8s:io.cilium.k8s.policy.serviceaccount=default',
        'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop',
        'k8s:pod-template-hash=7d9f8b6c4',
      ],
    };
    const destination = { ...cart, workloads: [{ name: 'cart', kind: 'StatefulSet' }] };
    const r = hubbleFlowToRecord(flow({ source, destination }));
    expect('record' in r && r.record).toMatchObject({
      src: 'shop/frontend-7d9f8b6c4-x2kqp',
      srcWorkload: 'shop/frontend',
      srcLabels: { app: 'frontend', tier: 'web' },
      dst: 'shop/cart-5f7c9d8b7-9wz4d',
      dstWorkload: 'shop/cart',
      dstLabels: { app: 'cart' },
    });
  });

  it('gives an address end no identity', () => {
    const r = hubbleFlowToRecord(
      flow({
        IP: { source: '10.244.1.57', destination: '54.187.174.169' },
        destination: { ...world, workloads: [{ name: 'x', kind: 'Deployment' }] },
      }),
    );
    expect('record' in r && r.record.dst).toBe('54.187.174.169');
    expect('record' in r && 'dstWorkload' in r.record).toBe(false);
    expect('record' in r && 'dstLabels' in r.record).toBe(false);
  });
});
