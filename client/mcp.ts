import {
  Client,
  ProtocolError,
  SdkError,
  SdkHttpError,
  StreamableHTTPClientTransport,
  type CallToolResult,
  type Progress,
  type Tool,
} from '@modelcontextprotocol/client';
import { CliError } from './http.ts';

export const CLIENT_INFO = { name: 'mcp-oauth', version: '0.1.0' };

/** Connects the SDK client over Streamable HTTP with our fetch (tokens, refresh, step-up). */
export async function connect(mcpUrl: URL, fetchImpl: typeof fetch): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(mcpUrl, { fetch: fetchImpl });
  // 'auto': a 2026-07-28 server is spoken to in its own (stateless) protocol, a 2025 one with
  // the initialize handshake.
  const client = new Client(CLIENT_INFO, { versionNegotiation: { mode: 'auto' } });
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw explain(error, mcpUrl);
  }
  return client;
}

export async function listTools(client: Client, mcpUrl: URL): Promise<Tool[]> {
  try {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  } catch (error) {
    throw explain(error, mcpUrl);
  }
}

export async function callTool(
  client: Client,
  mcpUrl: URL,
  name: string,
  args: Record<string, unknown>,
  onprogress?: (progress: Progress) => void,
): Promise<CallToolResult> {
  try {
    return (await client.callTool({ name, arguments: args }, { onprogress, resetTimeoutOnProgress: true })) as CallToolResult;
  } catch (error) {
    throw explain(error, mcpUrl);
  }
}

/** SDK and transport errors as one line a user can act on. */
export function explain(error: unknown, mcpUrl: URL): Error {
  if (error instanceof CliError) return error;
  if (error instanceof ProtocolError) return new CliError(`${mcpUrl.href}: ${error.message}`);
  if (error instanceof SdkHttpError) {
    const code = error.status;
    if (code === 404 || code === 405 || code === 415 || code === 406)
      return new CliError(`${mcpUrl.href} is not an MCP server (HTTP ${code}); check the URL (usually ends in /mcp)`);
    if (code === 401)
      return new CliError(`${mcpUrl.href} refused the sign-in (401); try: mcp-oauth logout ${mcpUrl.href}, then login again`);
    if (code === 403) return new CliError(`${mcpUrl.href} refused access (403)`);
    return new CliError(`${mcpUrl.href}: ${error.message}`);
  }
  if (error instanceof SdkError) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof CliError) return cause;
  }
  if (error instanceof SyntaxError || /JSON|content type|Unexpected/i.test((error as Error)?.message ?? ''))
    return new CliError(`${mcpUrl.href} did not answer like an MCP server: ${(error as Error).message}`);
  return new CliError(`${mcpUrl.href}: ${(error as Error)?.message ?? String(error)}`);
}
