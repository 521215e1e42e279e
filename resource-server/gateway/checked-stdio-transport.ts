import type { ChildProcess } from 'node:child_process';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

/** How much of a bad line the error quotes: enough to recognise it, not enough to carry a secret through. */
const QUOTED = 80;

/** What a stdio upstream wrote on stdout that is not JSON-RPC (the error's message says what). */
export class NotJsonRpcError extends Error {
  constructor(line: string) {
    // Control characters (terminal escapes) become spaces: the message goes to a client and into logs.
    const quoted = [...line]
      .map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c))
      .join('')
      .trim();
    super(
      `the upstream MCP server wrote something that is not JSON-RPC on stdout: ${JSON.stringify(
        quoted.length > QUOTED ? `${quoted.slice(0, QUOTED)}…` : quoted,
      )}`,
    );
    this.name = 'NotJsonRpcError';
  }
}

/**
 * The SDK's stdio client transport, told to fail fast on a line that is not JSON-RPC. Its
 * ReadBuffer skips a line that is not JSON without a word (a valid JSON line that is not JSON-RPC
 * does reach onerror), so a program that prints "Server ready" on stdout left the request waiting
 * for MCP_UPSTREAM_TIMEOUT_MS. We only watch: the SDK still reads every message; a line that
 * cannot start a JSON-RPC message (its first character is not `{`), or one the SDK reports as not
 * matching JSON-RPC, is reported through onerror as a NotJsonRpcError and the process is ended,
 * which fails what is pending on it at once.
 *
 * A line starting with `{` that is not JSON is still skipped by the SDK: telling it apart would
 * mean parsing every message twice.
 */
export class CheckedStdioClientTransport extends StdioClientTransport {
  #partial = '';
  #failed = false;

  override async start(): Promise<void> {
    // A JSON line that is not JSON-RPC (a JSON log line) the SDK does report, as a schema error,
    // then carries on waiting: make it the same failure. (Protocol.connect set onerror before start.)
    const report = this.onerror;
    this.onerror = (error) => {
      if (!this.#failed && error.name === 'ZodError') this.#fail('a JSON value that is not a JSON-RPC message');
      else report?.(error);
    };
    await super.start();
    // The SDK keeps its process private; without it (a future SDK) only the timeout is left.
    const stdout = (this as unknown as { _process?: ChildProcess })._process?.stdout;
    stdout?.on('data', (chunk: Buffer) => this.#check(chunk));
  }

  #check(chunk: Buffer): void {
    if (this.#failed) return;
    const lines = (this.#partial + chunk.toString('utf8')).split('\n');
    // Only the last (unfinished) line is kept: the first character tells, and a whole message is the SDK's to hold.
    this.#partial = (lines.pop() ?? '').slice(0, QUOTED + 1);
    for (const line of lines) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('{')) continue;
      this.#fail(trimmed);
      return;
    }
  }

  #fail(line: string): void {
    this.#failed = true;
    this.onerror?.(new NotJsonRpcError(line));
    void this.close().catch(() => undefined);
  }
}
