import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { TOOLS_SCOPE } from '../scopes.ts';
import { defineTool } from './registry.ts';

const STEPS = 4;
const STEP_MS = 10;

/** A slow tool that reports progress, for clients that show it (needs a progressToken). */
export const reverse = defineTool({
  name: 'reverse',
  title: 'Reverse text',
  description: 'Reverses a text, sending progress notifications while it works.',
  inputSchema: z.object({ text: z.string().max(10_000).describe('The text to reverse') }),
  requiredScopes: [TOOLS_SCOPE],
  // Machines too: it reads no identity at all.
  requiresUser: false,
  run: async ({ text }, ctx) => {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    for (let step = 1; step <= STEPS; step++) {
      await sleep(STEP_MS, undefined, { signal: ctx.mcpReq.signal }).catch(() => undefined);
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken, progress: step, total: STEPS, message: `step ${step} of ${STEPS}` },
        });
      }
    }
    return { content: [{ type: 'text', text: [...text].reverse().join('') }] };
  },
});
