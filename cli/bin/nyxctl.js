#!/usr/bin/env node
// Runs the built output (`npm run build`, which `npm ci` runs as `prepare` and `npm pack` as
// `prepack`). Tests and development run the sources instead: `node --conditions=source --import tsx
// cli/src/main.ts` (see CONTRIBUTING.md).
import '../dist/main.js';
