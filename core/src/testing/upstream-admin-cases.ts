// Upstream admin policy objects (SPEC section 9.3) with what the loader says of each: accepted, or
// refused at a line with a message. The same table is applied to the real kube-apiserver with the
// upstream CRDs installed (test/kube-api/upstream-crds.test.ts), which must agree except where
// `apiServer` records a deliberate difference.

export interface UpstreamAdminCase {
  name: string;
  yaml: string;
  /** undefined: accepted. Else the line of the (first) error and a part of its message. */
  refused?: { line: number; message: string };
  /** The API server's answer when it differs from ours on purpose, and why. */
  apiServer?: { accepts: true; why: string };
}

const CNP = 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy';
const ANP = 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy';
const BANP = 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy';

export const UPSTREAM_ADMIN_CASES: UpstreamAdminCase[] = [
  {
    name: 'CNP Admin: deny the metadata address, named rule',
    yaml: `${CNP}
metadata:
  name: deny-metadata
spec:
  tier: Admin
  priority: 10
  subject:
    namespaces: {}
  egress:
  - name: metadata
    action: Deny
    to:
    - networks: ["169.254.169.254/32"]
`,
  },
  {
    name: 'CNP Baseline: every peer kind, ports by number, range and name',
    yaml: `${CNP}
metadata:
  name: baseline-all
spec:
  tier: Baseline
  priority: 1000
  subject:
    pods:
      podSelector:
        matchLabels: {app: web}
  ingress:
  - action: Pass
    from:
    - namespaces:
        matchExpressions:
        - {key: team, operator: In, values: [a, b]}
    - pods:
        namespaceSelector: {}
        podSelector: {matchLabels: {role: client}}
    protocols:
    - tcp: {destinationPort: {number: 80}}
    - udp: {destinationPort: {range: {start: 1000, end: 2000}}}
    - destinationNamedPort: http
  egress:
  - action: Accept
    to:
    - domainNames: ["*.example.com", "api.example.org"]
    - nodes: {matchLabels: {kubernetes.io/os: linux}}
    - networks: ["10.0.0.0/8", "fd00::/8"]
    protocols:
    - sctp: {destinationPort: {number: 9000}}
`,
  },
  {
    name: 'ANP: pods subject, Allow/Deny/Pass, ports of each form',
    yaml: `${ANP}
metadata:
  name: anp
spec:
  priority: 0
  subject:
    pods:
      namespaceSelector: {matchLabels: {env: prod}}
      podSelector: {}
  ingress:
  - name: from-monitoring
    action: Allow
    from:
    - namespaces: {matchLabels: {team: monitoring}}
    ports:
    - portNumber: {port: 9090}
    - portRange: {protocol: UDP, start: 5000, end: 5010}
    - namedPort: metrics
  egress:
  - action: Pass
    to:
    - pods:
        namespaceSelector: {}
        podSelector: {}
  - action: Deny
    to:
    - networks: ["0.0.0.0/0"]
`,
  },
  {
    name: 'BANP named default',
    yaml: `${BANP}
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - namespaces: {}
`,
  },
  {
    name: 'BANP with another name',
    yaml: `${BANP}
metadata:
  name: other
spec:
  subject:
    namespaces: {}
`,
    refused: { line: 4, message: 'must be named "default"' },
  },
  {
    name: 'BANP with Pass',
    yaml: `${BANP}
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  egress:
  - action: Pass
    to:
    - namespaces: {}
`,
    refused: { line: 9, message: 'spec.egress[0].action must be one of Allow, Deny, not "Pass"' },
  },
  {
    name: 'CNP without tier',
    yaml: `${CNP}
metadata:
  name: no-tier
spec:
  priority: 5
  subject:
    namespaces: {}
`,
    refused: { line: 5, message: 'missing required field spec.tier' },
  },
  {
    name: 'CNP priority above 1000',
    yaml: `${CNP}
metadata:
  name: high
spec:
  tier: Admin
  priority: 1001
  subject:
    namespaces: {}
`,
    refused: { line: 7, message: 'spec.priority must be at most 1000, not 1001' },
  },
  {
    name: 'ANP negative priority',
    yaml: `${ANP}
metadata:
  name: low
spec:
  priority: -1
  subject:
    namespaces: {}
`,
    refused: { line: 6, message: 'spec.priority must be at least 0, not -1' },
  },
  {
    name: 'two subjects',
    yaml: `${CNP}
metadata:
  name: two-subjects
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
    pods:
      podSelector: {}
`,
    refused: { line: 8, message: 'spec.subject must set exactly one of namespaces, pods' },
  },
  {
    name: 'two fields in one peer',
    yaml: `${CNP}
metadata:
  name: two-peer-fields
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Deny
    to:
    - namespaces: {}
      networks: ["10.0.0.0/8"]
`,
    refused: { line: 13, message: 'must set exactly one of' },
  },
  {
    name: 'Allow in v1alpha2',
    yaml: `${CNP}
metadata:
  name: allow-v2
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  ingress:
  - action: Allow
    from:
    - namespaces: {}
`,
    refused: { line: 11, message: 'must be one of Accept, Deny, Pass, not "Allow"' },
  },
  {
    name: 'v1alpha1 pods peer without namespaceSelector',
    yaml: `${ANP}
metadata:
  name: pods-no-ns
spec:
  priority: 1
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - pods:
        podSelector: {}
`,
    refused: { line: 12, message: 'missing required field spec.ingress[0].from[0].pods.namespaceSelector' },
  },
  {
    name: 'v1alpha2 pods peer without namespaceSelector',
    yaml: `${CNP}
metadata:
  name: pods-no-ns
spec:
  tier: Baseline
  priority: 1
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - pods:
        podSelector: {}
`,
  },
  {
    name: 'empty peer list',
    yaml: `${CNP}
metadata:
  name: empty-peers
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from: []
`,
    refused: { line: 12, message: 'spec.ingress[0].from must list at least 1 item' },
  },
  {
    name: '26 rules in v1alpha2',
    yaml: `${CNP}
metadata:
  name: many-rules
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  ingress:
${Array.from({ length: 26 }, () => '  - action: Deny\n    from:\n    - namespaces: {}\n').join('')}`,
    refused: { line: 10, message: 'spec.ingress must list at most 25 items' },
  },
  {
    name: '26 rules in v1alpha1 (its cap is 100)',
    yaml: `${ANP}
metadata:
  name: many-rules
spec:
  priority: 1
  subject:
    namespaces: {}
  ingress:
${Array.from({ length: 26 }, () => '  - action: Deny\n    from:\n    - namespaces: {}\n').join('')}`,
  },
  {
    name: 'v1alpha2 invalid CIDR',
    yaml: `${CNP}
metadata:
  name: bad-cidr
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Deny
    to:
    - networks: ["10.0.0.0/33"]
`,
    refused: { line: 13, message: 'Invalid CIDR format provided: "10.0.0.0/33"' },
  },
  {
    name: 'v1alpha1 CIDR with neither dot nor colon',
    yaml: `${ANP}
metadata:
  name: bad-cidr
spec:
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Deny
    to:
    - networks: ["10/8"]
`,
    refused: { line: 12, message: 'networks entry "10/8" is not a valid CIDR' },
  },
  {
    name: 'v1alpha1 CIDR that only looks like one',
    yaml: `${ANP}
metadata:
  name: fake-cidr
spec:
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Deny
    to:
    - networks: ["not.a.cidr"]
`,
    refused: { line: 12, message: 'networks entry "not.a.cidr" is not a valid CIDR' },
    apiServer: {
      accepts: true,
      why: 'the v0.1.5 CRD only checks for "." or ":" and tells implementations to parse with net.ParseCIDR',
    },
  },
  {
    name: 'repeated network',
    yaml: `${CNP}
metadata:
  name: repeated
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Deny
    to:
    - networks: ["10.0.0.0/8", "10.0.0.0/8"]
`,
    refused: { line: 13, message: 'lists the same value twice' },
  },
  {
    name: 'v1alpha1 named port with a networks peer',
    yaml: `${ANP}
metadata:
  name: named-networks
spec:
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Deny
    to:
    - networks: ["10.0.0.0/8"]
    ports:
    - namedPort: http
`,
    refused: { line: 14, message: 'networks/nodes peer cannot be set with namedPorts' },
  },
  {
    name: 'v1alpha2 named port with a domainNames peer',
    yaml: `${CNP}
metadata:
  name: named-domains
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  egress:
  - action: Accept
    to:
    - domainNames: ["example.com"]
    protocols:
    - destinationNamedPort: https
`,
    refused: { line: 15, message: 'networks/nodes/domainNames peer cannot be set with namedPorts' },
  },
  {
    name: 'v1alpha2 port range start not below end',
    yaml: `${CNP}
metadata:
  name: bad-range
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - namespaces: {}
    protocols:
    - tcp: {destinationPort: {range: {start: 90, end: 90}}}
`,
    refused: { line: 15, message: 'Start port must be less than End port (start 90, end 90)' },
  },
  {
    name: 'port out of range',
    yaml: `${CNP}
metadata:
  name: bad-port
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - namespaces: {}
    protocols:
    - udp: {destinationPort: {number: 70000}}
`,
    refused: { line: 15, message: 'must be at most 65535, not 70000' },
  },
  {
    name: 'unknown field',
    yaml: `${CNP}
metadata:
  name: unknown-field
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  ingres: []
`,
    refused: { line: 10, message: 'unknown field "ingres" in spec (did you mean "ingress"?)' },
  },
  {
    name: 'invalid selector',
    yaml: `${CNP}
metadata:
  name: bad-selector
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces:
      matchExpressions:
      - {key: team, operator: In}
`,
    refused: { line: 11, message: 'invalid label selector' },
    apiServer: {
      accepts: true,
      why: 'the CRDs do not check label selectors (Kubernetes does for built-in kinds); an invalid one cannot be evaluated',
    },
  },
  {
    name: 'a rule name over 100 characters',
    yaml: `${CNP}
metadata:
  name: long-name
spec:
  tier: Admin
  priority: 1
  subject:
    namespaces: {}
  ingress:
  - name: ${'x'.repeat(101)}
    action: Deny
    from:
    - namespaces: {}
`,
    refused: { line: 11, message: 'spec.ingress[0].name must be at most 100 characters' },
  },
];
