// Calico flow logs to the flow format of SPEC section 7.
//
// Target: the JSON flow logs of Calico Enterprise 3.x / Calico Cloud (Felix `flowLogsFileEnabled`,
// `/var/log/calico/flowlogs/flows.log`, one JSON object per line), which are also the documents of the
// `tigera_secure_ee_flows*` Elasticsearch indices (a search hit `{"_source": {...}}` is accepted too).
// Fields read: `start_time`/`end_time` (epoch seconds), `source_*`/`dest_*` (`namespace`, `name`,
// `name_aggr`, `ip`, `type` wep|hep|ns|net), `dest_port`, `proto` (`tcp`/`udp`/`sctp` or the IANA number),
// `reporter` (src|dst), `action`, `num_flows`, `num_flows_started`, `dest_domains`. Calico writes `-`
// (or null) for a field aggregated away.
//
// Choices (documented in core/README.md, "Flow importers"):
// - an end is `<ns>/<pod>` when it is a workload endpoint (`wep`) with a concrete `*_name` (not `-`, no
//   `*`); else its IP when the log has one; else the line is skipped with a note (pod-prefix
//   aggregation, `flowLogsFileAggregationKindForAllowed: 2`, the default, keeps neither: lower it to 1
//   to get pod names);
// - each connection between two workload endpoints is reported by both ends (`reporter: src` and
//   `reporter: dst`), and either report may be the only one in a file (a deny at the destination, or
//   logs collected from some nodes only). `calicoFlowConverter` imports every connection once: per
//   tuple it keeps the connections each side reported so far, and a line adds only what takes the
//   larger side further (the rest is skipped as the other side's report). State grows with distinct
//   tuples, as the window does;
// - count = `num_flows_started` when positive; a line with none started but `num_flows` > 0 is a
//   long-lived connection still open in this interval and counts 1, so it is in the window;
// - firstSeen = start_time, lastSeen = end_time (as RFC 3339 UTC); serverName = first `dest_domains`;
// - a pod end carries its identity (SPEC section 7): the workload read from `source_name_aggr`
//   (`frontend-7d9f8b6c4-*` → `frontend`) as `srcWorkload`, `source_labels` as `srcLabels`.
import type { FlowRecord } from '../flow-model.js';
import { type FlowLineResult, flowEndpointProblem, flowTupleKey, parseJsonObjectLine } from '../flows.js';
import type { Protocol } from '../model.js';
import { identityLabels, workloadOfAggregatedName } from '../workload.js';

type Obj = Record<string, unknown>;

const PROTOCOLS: Readonly<Record<string, Protocol>> = {
  tcp: 'TCP',
  '6': 'TCP',
  udp: 'UDP',
  '17': 'UDP',
  sctp: 'SCTP',
  '132': 'SCTP',
};

function field(v: unknown): string | undefined {
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' && v !== '' && v !== '-' ? v : undefined;
}

function epochToRfc3339(v: unknown): string | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return undefined;
  return new Date(n * 1000).toISOString().replace('.000Z', 'Z');
}

function endpoint(log: Obj, side: 'source' | 'dest'): string | { skipped: string } {
  const type = field(log[`${side}_type`]);
  const ns = field(log[`${side}_namespace`]);
  const name = field(log[`${side}_name`]);
  const ip = field(log[`${side}_ip`]);
  if (type === 'wep' && ns && name && !name.includes('*')) return `${ns}/${name}`;
  if (ip && flowEndpointProblem(ip) === undefined) return ip;
  const aggr = field(log[`${side}_name_aggr`]) ?? name ?? type ?? '?';
  return { skipped: `${side} "${ns ? `${ns}/` : ''}${aggr}" is aggregated and has no IP` };
}

/**
 * Calico's labels of one end: `{"labels": ["k=v", …]}` as Felix writes them (a bare array is
 * accepted too); `-` or null means aggregated away. Calico's own `projectcalico.org/*` labels are
 * left out: they are not the pod's.
 */
function calicoLabels(value: unknown): Record<string, string> | undefined {
  const list = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null
      ? (value as Obj).labels
      : undefined;
  if (!Array.isArray(list)) return undefined;
  const labels: Record<string, string> = {};
  for (const label of list) {
    if (typeof label !== 'string') continue;
    const eq = label.indexOf('=');
    const key = eq < 0 ? label : label.slice(0, eq);
    if (key === '' || key.startsWith('projectcalico.org/')) continue;
    labels[key] = eq < 0 ? '' : label.slice(eq + 1);
  }
  return labels;
}

/**
 * The identity of a pod end (SPEC section 7): `srcWorkload` from `source_name_aggr`
 * (`frontend-7d9f8b6c4-*` → `frontend`, the ReplicaSet hash stripped as `pod-template-hash` names
 * it), `srcLabels` from `source_labels`.
 */
function addIdentity(record: FlowRecord, end: 'src' | 'dst', log: Obj, side: 'source' | 'dest'): void {
  const ref = record[end];
  const slash = ref.indexOf('/');
  if (slash < 0) return;
  const labels = calicoLabels(log[`${side}_labels`]);
  const aggr = field(log[`${side}_name_aggr`]);
  const workload = aggr !== undefined ? workloadOfAggregatedName(aggr, labels) : undefined;
  if (workload !== undefined && !workload.includes('/'))
    record[`${end}Workload`] = `${ref.slice(0, slash)}/${workload}`;
  if (labels !== undefined) record[`${end}Labels`] = identityLabels(labels);
}

/** Converts one parsed Calico flow log object. */
export function calicoLogToRecord(log: Obj): { record: FlowRecord } | { skipped: string } {
  const proto = PROTOCOLS[String(field(log.proto) ?? '').toLowerCase()];
  if (!proto) return { skipped: `protocol ${String(log.proto)} is not TCP, UDP or SCTP` };
  const port = typeof log.dest_port === 'string' ? Number(log.dest_port) : log.dest_port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    return { skipped: 'no destination port' };
  const src = endpoint(log, 'source');
  if (typeof src !== 'string') return src;
  const dst = endpoint(log, 'dest');
  if (typeof dst !== 'string') return dst;

  const started = Number(log.num_flows_started ?? 0);
  const flows = Number(log.num_flows ?? 1);
  const count = started > 0 ? started : flows > 0 ? 1 : 0;
  if (!Number.isSafeInteger(count) || count < 1) return { skipped: 'no connection in this interval' };

  const record: FlowRecord = { src, dst, protocol: proto, port };
  addIdentity(record, 'src', log, 'source');
  addIdentity(record, 'dst', log, 'dest');
  const domains = log.dest_domains;
  const serverName = Array.isArray(domains)
    ? field(domains[0])
    : typeof domains === 'string'
      ? field(domains.split(',')[0]?.trim())
      : undefined;
  if (serverName) record.serverName = serverName;
  if (count !== 1) record.count = count;
  const first = epochToRfc3339(log.start_time);
  const last = epochToRfc3339(log.end_time);
  if (first) record.firstSeen = first;
  if (last) record.lastSeen = last;
  if (first && last && first > last) record.firstSeen = last;
  return { record };
}

/** Connections reported so far for one tuple, by the source's and the destination's Felix. */
interface ReportedBySide {
  src: number;
  dst: number;
}

/**
 * A converter for the lines of one Calico flow log, in order, that imports each connection once
 * although both ends may report it (see the header). A line of one side adds the connections by
 * which its side's running total passes the other side's; a line that adds none is skipped as
 * `report of connections the other side already reported`. Use one converter per file (or per set
 * of files read as one window).
 */
export function calicoFlowConverter(): (line: string, lineNo: number, file: string) => FlowLineResult {
  const reported = new Map<string, ReportedBySide>();
  return (line, lineNo, file) => {
    const r = calicoLineToFlow(line, lineNo, file);
    if (!r.ok || r.record === undefined) return r;
    const side = r.reporter === 'dst' ? 'dst' : 'src';
    const key = flowTupleKey(r.record);
    let sides = reported.get(key);
    if (!sides) {
      sides = { src: 0, dst: 0 };
      reported.set(key, sides);
    }
    const before = Math.max(sides.src, sides.dst);
    sides[side] += r.record.count ?? 1;
    const added = Math.max(sides.src, sides.dst) - before;
    if (added === 0) return { ok: true, skipped: 'report of connections the other side already reported' };
    const record = { ...r.record };
    if (added === 1) delete record.count;
    else record.count = added;
    return { ok: true, record };
  };
}

/**
 * Converts one line of a Calico flow log into a flow record, or says why it was skipped. One line
 * on its own: both sides' reports of a connection each become a record (`calicoFlowConverter`
 * counts a connection once). `reporter` says which side's Felix wrote the line.
 */
export function calicoLineToFlow(
  line: string,
  lineNo: number,
  file: string,
): FlowLineResult & { reporter?: 'src' | 'dst' } {
  const parsed = parseJsonObjectLine(line, lineNo, file);
  if (!parsed.ok || parsed.skipped !== undefined) return parsed;
  const hit = parsed.value._source;
  const log = typeof hit === 'object' && hit !== null && !Array.isArray(hit) ? (hit as Obj) : parsed.value;
  if (!looksLikeCalico(log))
    return {
      ok: false,
      error: {
        file,
        line: lineNo,
        message:
          'not a Calico flow log: expected fields such as "source_namespace", "dest_port", "proto", "reporter"',
      },
    };
  const r = calicoLogToRecord(log);
  if (!('record' in r)) return { ok: true, skipped: r.skipped };
  return { ok: true, record: r.record, ...(log.reporter === 'dst' ? { reporter: 'dst' as const } : {}) };
}

/** True when a parsed JSON line looks like a Calico flow log (for format auto-detection). */
export function looksLikeCalico(value: Record<string, unknown>): boolean {
  const v = (typeof value._source === 'object' && value._source !== null ? value._source : value) as Obj;
  return 'dest_port' in v && ('source_namespace' in v || 'source_type' in v) && 'reporter' in v;
}
