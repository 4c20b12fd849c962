// Public surface of @nyx/bot, named and grouped by who uses it (no `export *`).

// Running the bot: `nyx-bot` (main.ts), the integration tests' harness and the benchmark.

export { type AppDeps, nyxApp, parseCommand } from './app.js';
export { type RunningBot, startBot } from './bot.js';
export {
  type BotConfig,
  type ConfigResult,
  describeConfig,
  type FlowSourceConfig,
  type InventorySourceConfig,
  loadConfig,
  parseFlowSource,
  redactUrl,
} from './config.js';
export { enqueue, jobId, jobOptions, type NyxJob, type QueueSettings, type RepoJob } from './jobs.js';
export { type BotMetrics, createMetrics, metricsHandler } from './metrics.js';
export { type JobOutcome, processJob, reasonList, startWorker, type WorkerDeps } from './worker.js';

// What the bot says about a pull request: the demo (`npm run demo`) and the tests.

export {
  type Analysis,
  AnalysisCache,
  type AnalyzeInput,
  analyzeChange,
  ownershipVerdict,
} from './analyze.js';
export {
  type ComposeCommentInput,
  composeComment,
  GITHUB_COMMENT_LIMIT,
  MARKDOWN_EXPLANATION,
  OWNERSHIP_CHECK,
  ownershipCheck,
  ownershipSection,
  POLICY_CHECK,
  policyCheck,
  unreadableTreeComment,
} from './comment.js';
export {
  type Conclusion,
  DEFAULT_REPO_CONFIG,
  parseRepoConfig,
  parseWindowLength,
  REPO_CONFIG_PATH,
  type RepoConfig,
} from './repo-config.js';
export { emptyInventory, type FlowInputs, flowInputs } from './sources.js';

// GitHub at the HTTP level: the tests' fake GitHub speaks to these.

export {
  ANNOTATIONS_PER_REQUEST,
  type ApiTreeLimits,
  appLogin,
  BlobCache,
  branchTip,
  CHECK_TEXT_LIMIT,
  type CheckAnnotation,
  type CheckRunInput,
  COMMENT_MARKER,
  changedPaths,
  createCheckRun,
  DEFAULT_API_TREE_LIMITS,
  type GitHubClient,
  getPull,
  listOpenPulls,
  listReviews,
  listTree,
  mergeBase,
  mergedTree,
  type PullState,
  postComment,
  type RepoRef,
  readBlobs,
  selectPolicyBlobs,
  TARBALL_THRESHOLD,
  type TreeBlob,
  TreeError,
  teamMembers,
  upsertStickyComment,
} from './github.js';
