// Public surface of the engine, named and grouped by who uses it (no `export *`: a module's other
// exports are internal to core, and its tests import them by path). Everything here is pure: callers
// hand in file contents, parsed JSON and flow records; nothing here touches the disk, the network or
// the clock. core/README.md's module map follows the same groups.

// Policy objects, loading and diagnostics: every package (io reads trees from disk, the bot from Git,
// the reconciler from its bundle, the agent from its mount; all print diagnostics the same way).

export { fieldName, type LoadOptions, loadPolicySet } from './load.js';
export {
  type DefaultMode,
  type Diagnostic,
  type Direction,
  type Enforcement,
  type FqdnMatch,
  formatDiagnostic,
  type IgnoredObject,
  type IpBlock,
  type LabelSelector,
  type LabelSelectorRequirement,
  type LoadResult,
  NETWORKING_API_VERSION,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyIngressRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type NetworkPolicySpec,
  NYX_API_VERSION,
  type NyxClusterConfig,
  type NyxClusterConfigSpec,
  type NyxClusterNetworkPolicy,
  type NyxClusterNetworkPolicySpec,
  type NyxEgressRule,
  type NyxIngressRule,
  type NyxNetworkPolicy,
  type NyxNetworkPolicySpec,
  type NyxPeer,
  type NyxPort,
  type ObjectMeta,
  objectId,
  type PolicyFile,
  type PolicyKind,
  type PolicyObject,
  type PolicySet,
  type Protocol,
  type RuleDecision,
  type SourceLocation,
} from './model.js';
export {
  comparePaths,
  isTemplateLayout,
  type LinkedEntryKind,
  linkedEntryProblem,
  namespaceFolder,
  policyManifestPaths,
  repoPathProblem,
} from './paths.js';
export { crdFiles, crdManifests, toStructuralSchema } from './schemas/crd.js';
export {
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  type JsonSchema,
  labelSelectorSchema,
  NYX_GROUP,
  NYX_VERSION,
  networkPolicySchema,
  nyxClusterConfigSchema,
  nyxClusterNetworkPolicySchema,
  nyxNetworkPolicySchema,
  objectMetaSchema,
  PATTERN_DESCRIPTIONS,
  policySchemas,
} from './schemas/kinds.js';
export {
  DEFAULT_YAML_LIMITS,
  formatBytes,
  lineForPointer,
  parseYamlDocuments,
  utf8ByteLength,
  type YamlDocument,
  type YamlLimits,
  type YamlParseResult,
} from './yaml.js';

// The facts of SPEC section 4 that the simulator and the agent's kernel ruleset share (lint, load and
// ownership read them too).

export {
  BAND_LIMITS,
  BAND_ORDER,
  DEFAULT_PRIORITY,
  isolatesDirection,
  listsDirection,
  type NyxPolicy,
  type NyxRulePeers,
  nyxPeersOf,
  type PolicyBand,
  policyBand,
  policyTypeOf,
  priorityOf,
  type RuleObject,
  rulesOf,
  type UpstreamPeer,
  upstreamPeersOf,
  upstreamPolicyTypes,
  type WalkBand,
} from './policy-facts.js';

// Inventory and endpoints: cli, bot, io, the agent, the reconciler.

export {
  addressOwners,
  type EndFallback,
  endpointLabel,
  NAMESPACE_NAME_LABEL,
  normalizeIp,
  type ParseInventoryOptions,
  type ParseInventoryResult,
  parseInventory,
  podsOfWorkload,
  type ResolvedEnd,
  resolveEndpoint,
  resolveFlow,
  resolveFlowEnd,
} from './inventory.js';
export type { ContainerPort, Endpoint, Inventory, Node, Pod } from './inventory-model.js';
export {
  currentPodOfWorkload,
  identityLabels,
  ownerWorkloadName,
  REVISION_LABELS,
  workloadNameCandidates,
  workloadOfAggregatedName,
  workloadOfPod,
  workloadOfPodName,
} from './workload.js';

// Flows: io's flow reader (also through `@nyx/core/flows` on its worker thread), cli, bot.

export { annotateFlowRecord, type EndAnnotation } from './annotate.js';
export { ByteKeyIndex, type ByteKeyIndexState } from './byte-key-index.js';
export type { EndResolution, FlowIdentity, FlowRecord, ResolvedFlow } from './flow-model.js';
export {
  type CanonicalFlowLine,
  compareRfc3339,
  describeSkippedLines,
  type EncodedTupleIdentities,
  earlierTime,
  emptyCanonicalFlowLine,
  type FlowLineResult,
  type FlowTuple,
  type FlowTupleIdentity,
  FlowWindow,
  type FlowWindowCoverage,
  type FlowWindowState,
  flowEndpointProblem,
  flowIdentityProblem,
  flowTupleKey,
  formatFlowLine,
  isRfc3339,
  laterTime,
  MAX_FLOW_LINE_BYTES,
  type ParseFlowLineResult,
  parseFlowLine,
  parseJsonObjectLine,
  rfc3339Millis,
  SILENT_SKIPS,
  scanCanonicalFlowTail,
  skippedLineCount,
  TupleIdentityDecoder,
  TupleIdentityEncoder,
  TupleKeyBytes,
  tupleIdentity,
} from './flows.js';
export {
  calicoFlowConverter,
  calicoLineToFlow,
  calicoLogToRecord,
  looksLikeCalico,
} from './importers/calico.js';
export { hubbleFlowToRecord, hubbleLineToFlow, looksLikeHubble } from './importers/hubble.js';

// Evaluation: `nyxctl verdicts` and `explain`, the bot's `/nyx explain`, the agent.

export {
  type Cidr,
  cidrContains,
  cidrCovers,
  cidrNetworkText,
  cidrsOverlap,
  isIp,
  parseCidr,
  parseIp,
} from './cidr.js';
export {
  type ConversionDifference,
  type ConversionResult,
  type ConvertedObject,
  conversionDifferences,
  convertToV1alpha2,
  proofFlows,
  proofInventory,
  rewriteFilesAsV1alpha2,
} from './convert-admin.js';
export { compileEvaluator, type Evaluator, type EvaluatorOptions, evaluate } from './evaluate.js';
export { compileFqdnMatch, type FqdnPredicate, fqdnMatches, normalizeDnsName } from './fqdn.js';
export { compilePolicySet } from './policy-compile.js';
export type {
  CompiledIpBlock,
  CompiledPeers,
  CompiledPodPeer,
  CompiledPolicy,
  CompiledPolicySet,
  CompiledPort,
  CompiledRule,
} from './policy-compiled.js';
export {
  firstMatchingRule,
  ipBlockMatcher,
  type ParsedIp,
  type PointContext,
  podPeerMatches,
  toParsedIp,
} from './policy-match.js';
export type { SubjectPlan } from './policy-walk.js';
export {
  compileSelector,
  escapePointer,
  type LabelPredicate,
  type Labels,
  labelKeyProblem,
  labelValueProblem,
  selectorKeys,
  selectorProblems,
  selectsEverything,
} from './selector.js';
export {
  type Band,
  type EnforcementPoint,
  type FlowVerdict,
  formatReason,
  isolatedByText,
  type PassedBy,
  type Reason,
  type ReasonFormat,
  reasonFormatter,
  type Verdict,
} from './verdict-model.js';

// The kernel ruleset: `nyxctl compile` and the agent.

export {
  type AgentExtras,
  type CompiledRuleset,
  compileRuleset,
  type FqdnElement,
  type FqdnSet,
  GENERATION_MASK,
  type RulesetInput,
} from './nft.js';
export { type RulesetUpdate, rulesetUpdate } from './nft-update.js';

// A change: the object change set (the reconciler's plan and prune), impact and lint (cli, bot).

export {
  diffObjects,
  isEmptyChangeSet,
  type ObjectChangeSet,
  objectText,
  samePolicyContent,
  stableJson,
} from './diff.js';
export {
  type ComputeImpactInput,
  computeImpact,
  countRuleHits,
  IMPACT_KIND_ORDER,
  type ImpactChange,
  type ImpactChangeKind,
  type ImpactCoverage,
  type ImpactEvaluators,
  ImpactPass,
  type ImpactReport,
  type ImpactSide,
  type ImpactSummary,
  impactEvaluators,
  type RecordResolution,
  type ResolutionCounts,
  ruleHitsOverWindow,
} from './impact.js';
export { countExcludedTraffic, type LintInput, lintChange, lintPolicySet, selectorImplies } from './lint.js';
export {
  type LintFinding,
  type LintSeverity,
  lintFindingKey,
  type RuleHitCounts,
  ruleHitKey,
  staleRuleWindowProblem,
} from './lint-model.js';
export {
  type ImpactChangeJson,
  type ImpactJson,
  type ImpactReasonJson,
  type ImpactSideJson,
  impactToJson,
  type ResolutionCountsJson,
} from './render/json.js';
export {
  DEFAULT_MAX_MARKDOWN_LENGTH,
  escapeMarkdown,
  formatCompact,
  formatCount,
  markdownReason,
  type RenderImpactMarkdownOptions,
  renderImpactMarkdown,
} from './render/markdown.js';

// Ownership and approvals: the bot.

export {
  type ApprovalGroup,
  type ApprovalGroupFacts,
  type ApprovalGroupStatus,
  type ApprovalStatus,
  approvalStatus,
  type ChangedObject,
  CODEOWNERS_LOCATIONS,
  type CodeOwnersRule,
  changedObjects,
  codeOwnersPatternMatches,
  describeApproval,
  describeApprovalGroup,
  displayHandle,
  type ExplanationFormat,
  isOwnersFile,
  loadOwnership,
  normalizeHandle,
  type OwnersFile,
  type Ownership,
  ownersForChange,
  parseCodeOwners,
  parseOwners,
  type ReviewInput,
  requiredApprovals,
  teamHandles,
} from './ownership.js';
