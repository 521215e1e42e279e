import { adminReport } from './admin-report.ts';
import { greet } from './greet.ts';
import { reverse } from './reverse.ts';
import { createToolRegistry } from './registry.ts';
import { whoami } from './whoami.ts';

/** The demo tools this server offers; add yours here. */
export const demoTools = createToolRegistry([whoami, greet, reverse, adminReport]);
