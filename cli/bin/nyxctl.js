#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx nyxctl` works right after `npm ci`
// with no build step and can never run stale output.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
