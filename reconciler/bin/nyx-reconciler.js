#!/usr/bin/env node
// Runs the built output (`npm run build`; see cli/bin/nyxctl.js). Tests run the sources instead.
import '../dist/main.js';
