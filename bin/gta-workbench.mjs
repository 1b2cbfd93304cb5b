#!/usr/bin/env node
// Package bin: the same CLI as `npm run cli`.
import '../scripts/cli.mjs';
