import { packageVersion } from '@tfpipe/core';

/** This package's version, read from its package.json. */
export const VERSION = packageVersion(import.meta.url);
import '@tfpipe/core';
