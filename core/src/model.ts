// The policy model: what the loader produces and what evaluation, lint, ownership and (later) the
// nftables compiler consume. Shapes follow the manifests (SPEC section 1) so that what a user wrote
// is what the engine reads; every object keeps where it came from so that any finding names file:line.

export const NYX_API_VERSION = 'nyx.tracenyx.io/v1alpha1';
export const NETWORKING_API_VERSION = 'networking.k8s.io/v1';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type Enforcement = 'audit' | 'enforce';
export type DefaultMode = 'allow' | 'deny-cross-namespace' | 'deny';
export type Direction = 'ingress' | 'egress';
export type RuleDecision = 'Allow' | 'Deny';

/** A place in the policy tree. `file` is the path relative to the tree root, with `/` separators. */
export interface SourceLocation {
  file: string;
  line: number;
}

/** A problem found while loading or validating: always printable as `file:line: message`. */
export interface Diagnostic extends SourceLocation {
  message: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

// ---- Nyx kinds -------------------------------------------------------------------------------

export interface NyxPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface NyxPeer {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
}

export interface IpBlock {
  cidr: string;
  except?: string[];
}

export interface FqdnMatch {
  matchName?: string;
  matchPattern?: string;
}

export interface NyxEgressRule {
  decision: RuleDecision;
  ports?: NyxPort[];
  to?: NyxPeer[];
  toIpBlock?: IpBlock;
  toFqdn?: FqdnMatch[];
}

export interface NyxIngressRule {
  decision: RuleDecision;
  ports?: NyxPort[];
  from?: NyxPeer[];
  fromIpBlock?: IpBlock;
}

export interface NyxClusterConfigSpec {
  defaultMode?: DefaultMode;
  enforcement?: Enforcement;
  excludedNamespaces?: string[];
}

export interface NyxClusterNetworkPolicySpec {
  tier: 'platform' | 'baseline';
  priority: number;
  enforcement?: Enforcement;
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: NyxIngressRule[];
  egress?: NyxEgressRule[];
}

export interface NyxNetworkPolicySpec {
  podSelector?: LabelSelector;
  priority?: number;
  enforcement?: Enforcement;
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: NyxIngressRule[];
  egress?: NyxEgressRule[];
}

// ---- upstream networking.k8s.io/v1 NetworkPolicy ----------------------------------------------

export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

// ---- upstream policy.networking.k8s.io admin policy (SPEC section 9) -------------------------

export const ANP_API_VERSION = 'policy.networking.k8s.io/v1alpha1';
export const CNP_API_VERSION = 'policy.networking.k8s.io/v1alpha2';

/** `pods` in v1alpha1 needs both selectors; in v1alpha2 an absent `namespaceSelector` means every namespace. */
export interface AdminPodsSelector {
  namespaceSelector?: LabelSelector;
  podSelector: LabelSelector;
}

/** Exactly one field set (the schema holds it). */
export interface AdminSubject {
  namespaces?: LabelSelector;
  pods?: AdminPodsSelector;
}

/** Exactly one field set. `nodes`, `networks` are egress only; `domainNames` v1alpha2 egress only. */
export interface AdminPeer {
  namespaces?: LabelSelector;
  pods?: AdminPodsSelector;
  nodes?: LabelSelector;
  networks?: string[];
  domainNames?: string[];
}

/** v1alpha1 `ports[]`: exactly one field set; `protocol` defaults to TCP as the API server fills it in. */
export interface AdminPortV1alpha1 {
  portNumber?: { protocol?: Protocol; port: number };
  portRange?: { protocol?: Protocol; start: number; end: number };
  namedPort?: string;
}

export interface AdminDestinationPort {
  number?: number;
  range?: { start: number; end: number };
}

/** v1alpha2 `protocols[]`: exactly one field set. */
export interface AdminProtocolV1alpha2 {
  tcp?: { destinationPort?: AdminDestinationPort };
  udp?: { destinationPort?: AdminDestinationPort };
  sctp?: { destinationPort?: AdminDestinationPort };
  destinationNamedPort?: string;
}

export type AdminAction = 'Allow' | 'Accept' | 'Deny' | 'Pass';

export interface AdminRule {
  name?: string;
  action: AdminAction;
  /** egress */
  to?: AdminPeer[];
  /** ingress */
  from?: AdminPeer[];
  ports?: AdminPortV1alpha1[];
  protocols?: AdminProtocolV1alpha2[];
}

export interface AdminPolicySpec {
  /** v1alpha2 only. */
  tier?: 'Admin' | 'Baseline';
  /** Required on ClusterNetworkPolicy and AdminNetworkPolicy; absent on the BaselineAdminNetworkPolicy. */
  priority?: number;
  subject: AdminSubject;
  ingress?: AdminRule[];
  egress?: AdminRule[];
}

// ---- loaded objects --------------------------------------------------------------------------

interface LoadedObject<K extends string, S> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  /** Where the document starts (the line of its first key). */
  source: SourceLocation;
  /**
   * Line of each value inside the document, keyed by JSON pointer (`/spec/egress/0/toIpBlock/cidr`).
   * Lint and validation use it to point at the exact rule or field.
   */
  lines: Readonly<Record<string, number>>;
}

export type NyxClusterConfig = LoadedObject<'NyxClusterConfig', NyxClusterConfigSpec>;
export type NyxClusterNetworkPolicy = LoadedObject<'NyxClusterNetworkPolicy', NyxClusterNetworkPolicySpec>;
/** `namespace` is resolved: `metadata.namespace`, else the `namespaces/<ns>/` folder, else `default`. */
export type NyxNetworkPolicy = LoadedObject<'NyxNetworkPolicy', NyxNetworkPolicySpec> & { namespace: string };
export type NetworkPolicy = LoadedObject<'NetworkPolicy', NetworkPolicySpec> & { namespace: string };

export type AdminNetworkPolicy = LoadedObject<'AdminNetworkPolicy', AdminPolicySpec>;
export type BaselineAdminNetworkPolicy = LoadedObject<'BaselineAdminNetworkPolicy', AdminPolicySpec>;
export type ClusterNetworkPolicy = LoadedObject<'ClusterNetworkPolicy', AdminPolicySpec>;
/** The upstream admin policy kinds of SPEC section 9 (both API versions). */
export type UpstreamAdminPolicy = AdminNetworkPolicy | BaselineAdminNetworkPolicy | ClusterNetworkPolicy;

export type PolicyObject =
  | NyxClusterConfig
  | NyxClusterNetworkPolicy
  | NyxNetworkPolicy
  | NetworkPolicy
  | UpstreamAdminPolicy;
export type PolicyKind = PolicyObject['kind'];

/** A manifest of a kind the engine does not manage (Deployment, Service, ...): ignored with a note. */
export interface IgnoredObject {
  source: SourceLocation;
  apiVersion: string;
  kind: string;
  name?: string;
}

/** Everything one policy tree (one git revision) declares. */
export interface PolicySet {
  /** All managed objects in a stable order (file path, then document index). */
  objects: PolicyObject[];
  /** The singleton `NyxClusterConfig` named `cluster`, if the tree has one. */
  config?: NyxClusterConfig;
  ignored: IgnoredObject[];
}

/** A file handed to the loader. Reading it (disk, git, GitHub API) is the caller's business. */
export interface PolicyFile {
  /** Path relative to the tree root, `/`-separated, no `..` segments. */
  path: string;
  content: string;
}

export type LoadResult =
  | { ok: true; policySet: PolicySet; notes: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; notes: Diagnostic[] };

/**
 * The annotation that puts an upstream admin policy in audit (SPEC section 9.5): upstream objects have
 * no `enforcement` field of their own.
 */
export const ENFORCEMENT_ANNOTATION = 'nyx.tracenyx.io/enforcement';

export function isUpstreamAdminPolicy(o: PolicyObject): o is UpstreamAdminPolicy {
  return (
    o.kind === 'AdminNetworkPolicy' ||
    o.kind === 'BaselineAdminNetworkPolicy' ||
    o.kind === 'ClusterNetworkPolicy'
  );
}

/**
 * Whether an object changes traffic: Nyx kinds by `spec.enforcement`, upstream admin policies by the
 * annotation of SPEC section 9.5 (`audit` is the only value that changes anything), NetworkPolicy always.
 */
export function enforcementOf(o: PolicyObject): Enforcement {
  if (o.kind === 'NetworkPolicy') return 'enforce';
  if (isUpstreamAdminPolicy(o))
    return o.metadata.annotations?.[ENFORCEMENT_ANNOTATION] === 'audit' ? 'audit' : 'enforce';
  return o.spec.enforcement ?? 'enforce';
}

/** `Kind/name` for cluster-scoped objects, `Kind/namespace/name` for namespaced ones. */
export function objectId(o: PolicyObject): string {
  return 'namespace' in o ? `${o.kind}/${o.namespace}/${o.metadata.name}` : `${o.kind}/${o.metadata.name}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}: ${d.message}`;
}
