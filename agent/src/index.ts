// Public surface of the agent package (for tests and embedding).
export { Agent, type AgentState, type AgentStatus, buildRuleset } from './agent.js';
export { type AgentConfig, describeConfig, loadConfig } from './config.js';
export {
  type KernelFinding,
  loadScript,
  type NftCommand,
  readCapturedFlows,
  readWouldDenyFindings,
  runNft,
} from './nft.js';
