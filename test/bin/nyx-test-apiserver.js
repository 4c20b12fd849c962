#!/usr/bin/env node
// Runs the TypeScript sources through tsx, as nyxctl does (see cli/bin/nyxctl.js).
import { register } from 'tsx/esm/api';

register();
await import('../src/kube-api/main.ts');
