// Hubble flows to the flow format of SPEC section 7.
//
// Input: one line of `hubble observe -o json` (Hubble CLI >= 0.11, Cilium >= 1.13), i.e. a
// GetFlowsResponse `{"flow": {...}, "node_name": …, "time": …}` per line, or a bare Flow object (as
// the Hubble exporter writes when configured without the envelope). Field names are Hubble's proto
// names: `time`, `verdict`, `IP.source`/`IP.destination`, `l4.TCP|UDP|SCTP.destination_port`,
// `l4.TCP.flags`, `source`/`destination` (`namespace`, `pod_name`, `labels`), `Type`,
// `traffic_direction`, `is_reply`, `destination_names`, `l7.dns.query`.
//
// Choices (each documented in core/README.md, "Flow importers"):
// - replies (`is_reply: true`) are skipped: SPEC section 2 ignores them;
// - a pod end becomes `<ns>/<pod>`, anything else (world, host, remote node) its IP;
// - Hubble reports a pod-to-pod connection twice, at the source's egress and at the destination's
//   ingress. When the source is a pod, only the EGRESS observation is kept; INGRESS observations are
//   kept only when the source is not a pod (then there is no egress observation);
// - for TCP, only the connection-opening packet (SYN without ACK) counts when flags are present, so
//   `count` approximates connections rather than packets; retransmitted SYNs of a dropped connection
//   count again;
// - `Type` other than L3_L4 and L7 (trace/sock/debug events) is skipped; L7 flows are kept only for DNS
//   requests (they carry the name resolved), HTTP/Kafka L7 events duplicate their L3/L4 connection;
// - serverName comes from `destination_names[0]`, else the DNS query of an L7 DNS request (trailing dot
//   removed). Hubble flows carry no TLS SNI field, so none is read;
// - firstSeen = lastSeen = the flow's `time`; non-TCP/UDP/SCTP flows (ICMP) are skipped;
// - a pod end carries its identity (SPEC section 7): `source.workloads[0].name` as `srcWorkload`,
//   `source.labels` (`k8s:key=value`, Cilium's own labels left out) as `srcLabels`.
import type { FlowRecord } from '../flow-model.js';
import { type FlowLineResult, isRfc3339, parseJsonObjectLine } from '../flows.js';
import type { Protocol } from '../model.js';
import { identityLabels } from '../workload.js';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function endpointName(ep: Obj | undefined, ip: string | undefined): string | undefined {
  const ns = str(ep?.namespace);
  const pod = str(ep?.pod_name);
  if (ns && pod) return `${ns}/${pod}`;
  return ip;
}

/**
 * The identity of a pod end (SPEC section 7): `srcWorkload` from the endpoint's `workloads[0].name`
 * (Cilium names the top controller: Deployment, StatefulSet, DaemonSet, CronJob, Job), `srcLabels`
 * from its `k8s:key=value` labels. Cilium's own labels (`io.cilium.k8s.*`, the namespace label
 * `io.kubernetes.pod.namespace`) and revision labels are left out: they are not the pod's labels.
 */
function addIdentity(record: FlowRecord, end: 'src' | 'dst', ep: Obj | undefined): void {
  const ref = record[end];
  const slash = ref.indexOf('/');
  if (slash < 0 || !ep) return;
  const namespace = ref.slice(0, slash);
  const workloads = ep.workloads;
  const first = Array.isArray(workloads) ? obj(workloads[0]) : undefined;
  const name = str(first?.name);
  if (name && !name.includes('/')) record[`${end}Workload`] = `${namespace}/${name}`;
  if (!Array.isArray(ep.labels)) return;
  const labels: Record<string, string> = {};
  for (const label of ep.labels) {
    if (typeof label !== 'string' || !label.startsWith('k8s:')) continue;
    const eq = label.indexOf('=');
    const key = eq < 0 ? label.slice(4) : label.slice(4, eq);
    if (key === '' || key.startsWith('io.cilium.k8s.') || key === 'io.kubernetes.pod.namespace') continue;
    labels[key] = eq < 0 ? '' : label.slice(eq + 1);
  }
  record[`${end}Labels`] = identityLabels(labels);
}

/** Converts one parsed Hubble flow object (the `flow` of a `hubble observe -o json` line, or a bare one). */
export function hubbleFlowToRecord(flow: Obj): { record: FlowRecord } | { skipped: string } {
  if (flow.is_reply === true || flow.reply === true) return { skipped: 'reply packet' };
  const type = str(flow.Type) ?? 'L3_L4';
  const l7 = obj(flow.l7);
  const dns = obj(l7?.dns);
  if (type === 'L7') {
    if (!dns || l7?.type === 'RESPONSE') return { skipped: 'L7 event of an already counted connection' };
  } else if (type !== 'L3_L4') return { skipped: `${type} event` };

  const l4 = obj(flow.l4);
  let protocol: Protocol | undefined;
  let l4Fields: Obj | undefined;
  for (const p of ['TCP', 'UDP', 'SCTP'] as const) {
    const f = obj(l4?.[p]);
    if (f) {
      protocol = p;
      l4Fields = f;
    }
  }
  if (!protocol || !l4Fields) return { skipped: 'not TCP, UDP or SCTP' };
  const port = l4Fields.destination_port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    return { skipped: 'no destination port' };
  const flags = obj(l4Fields.flags);
  if (protocol === 'TCP' && flags && !(flags.SYN === true && flags.ACK !== true))
    return { skipped: 'TCP packet after the connection opened' };

  const source = obj(flow.source);
  const destination = obj(flow.destination);
  const ip = obj(flow.IP);
  const sourcePod = !!(str(source?.namespace) && str(source?.pod_name));
  if (flow.traffic_direction === 'INGRESS' && sourcePod)
    return { skipped: 'ingress observation of a connection already seen at its source pod' };
  const src = endpointName(source, str(ip?.source));
  const dst = endpointName(destination, str(ip?.destination));
  if (!src || !dst) return { skipped: 'no source or destination address' };

  const record: FlowRecord = { src, dst, protocol, port };
  addIdentity(record, 'src', source);
  addIdentity(record, 'dst', destination);
  const names = flow.destination_names;
  const serverName =
    (Array.isArray(names) ? str(names[0]) : undefined) ?? str(dns?.query)?.replace(/\.$/, '') ?? undefined;
  if (serverName) record.serverName = serverName;
  const time = str(flow.time);
  if (time && isRfc3339(time)) {
    record.firstSeen = time;
    record.lastSeen = time;
  }
  return { record };
}

/**
 * Converts one line of `hubble observe -o json` output into a flow record, or says why the line
 * was skipped (reply, duplicate observation, non-connection event).
 */
export function hubbleLineToFlow(line: string, lineNo: number, file: string): FlowLineResult {
  const parsed = parseJsonObjectLine(line, lineNo, file);
  if (!parsed.ok || parsed.skipped !== undefined) return parsed;
  const value = parsed.value;
  const flow = obj(value.flow) ?? (value.IP !== undefined || value.l4 !== undefined ? value : undefined);
  if (!flow) {
    const what = Object.keys(value)[0];
    return { ok: true, skipped: what ? `not a flow (${what})` : 'not a flow' };
  }
  const r = hubbleFlowToRecord(flow);
  return 'record' in r ? { ok: true, record: r.record } : { ok: true, skipped: r.skipped };
}

/** True when a parsed JSON line looks like Hubble output (for format auto-detection). */
export function looksLikeHubble(value: Record<string, unknown>): boolean {
  if (obj(value.flow) !== undefined || (obj(value.IP) !== undefined && obj(value.source) !== undefined))
    return true;
  // The other GetFlowsResponse events `hubble observe -o json` can print before the first flow.
  return HUBBLE_EVENTS.some((k) => obj(value[k]) !== undefined);
}

const HUBBLE_EVENTS = ['lost_events', 'node_status', 'agent_event', 'debug_event'] as const;
