#!/usr/bin/env node
import { VERSION } from './index.js';
import { createRng } from '@tfpipe/core';
console.log('pipeline', VERSION, createRng(1).next());
