#!/usr/bin/env node
// Runs the built output (see cli/bin/nyxctl.js).
import '../dist/main.js';
