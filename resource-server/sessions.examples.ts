/** Type-checked examples for sessions.ts (its JSDoc shows these regions). */
import type { McpSession } from './mcp-transport.ts';
import { SessionStore } from './sessions.ts';

export function SessionStoreExample(id: string, transport: McpSession) {
  //#region SessionStore
  const sessions = new SessionStore<McpSession>({
    idleTtlMs: 1_800_000,
    maxSessions: 1000,
    maxSessionsPerSubject: 50,
    maxSessionsPerClient: 250,
    maxSessionsPerIp: 100,
  });
  const alice = { subject: 'alice', clientId: 'app', ip: '203.0.113.7' };
  if (!sessions.refusal(alice)) sessions.add(id, alice, transport);
  sessions.get(id, { ...alice, clientId: 'other-app' }); // undefined
  //#endregion SessionStore
}
