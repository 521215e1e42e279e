/** Usage texts: the global one and one per command. */
export const GLOBAL_HELP = `mcp-oauth — a command-line MCP client that signs in with OAuth

Usage: mcp-oauth <command> [options]      (from a checkout: npm run client -- <command> …)

Commands:
  login <mcp-url>     sign in to an MCP server (browser or device flow)
  tools <mcp-url>     list the server's tools
  call <mcp-url> <tool> [--arg key=value]… [--json '{…}']
                      call a tool
  logout <mcp-url>    revoke the sign-in at the authorization server and forget it
  status              list cached sign-ins (never a token)

Global options (before or after the command):
  --json              machine-readable output on stdout
  --verbose, -v       print every HTTP exchange on stderr (tokens redacted)
  --no-auth           talk to a server that needs no authorization
  --help, -h          this text; \`mcp-oauth <command> --help\` for a command

Sign-ins are cached in $XDG_CONFIG_HOME/mcp-oauth-stack (default ~/.config/mcp-oauth-stack).
Exit codes: 0 done, 1 failed (or the tool returned an error), 2 bad usage.
`;

export const COMMAND_HELP: Record<string, string> = {
  login: `Usage: mcp-oauth login <mcp-url> [options]

Finds the server's authorization server (its 401 challenge, RFC 9728 metadata, RFC 8414 / OpenID
discovery), registers this client (or uses --client-id / --client-metadata-url), and signs in.

  --browser                 authorization code + PKCE in a browser (default where one can open)
  --device                  device flow (RFC 8628): a URL and a code to approve on any device
                            (default over SSH or without a display, when the server offers it)
  --no-open                 print the URL, do not open a browser
  --qr, --no-qr             device flow: a QR code of the URL on stderr (default: only when stderr
                            is a terminal; never with --json)
  --scope "a b"             scopes to ask for (default: the challenge's, else the server's list)
  --client-id ID            a client registered at the authorization server
  --client-secret S         its secret (confidential clients)
  --client-metadata-url URL your Client ID Metadata Document (used where the server supports them)
  --client-credentials      machine sign-in (no user) with --client-id and --client-secret,
                            or --client-id and --client-key FILE (private_key_jwt, ES256 PKCS#8 PEM)
  --dpop                    DPoP-bound tokens (RFC 9449): a key kept with the cached sign-in signs
                            a proof for every token and MCP request (later commands keep using it)
  --id-jag-idp URL --id-token FILE
                            Enterprise-Managed Authorization: exchanges the ID token (from FILE)
                            at the IdP's token endpoint URL for an ID-JAG (RFC 8693), then signs
                            in with it (jwt-bearer, RFC 7523) using --client-id / --client-secret
  --idp-client-id ID        this client's ID at the IdP (default: --client-id)
  --idp-client-secret S     its secret at the IdP, for an IdP that wants a confidential client
                            (default: none, sent as a public client)
`,
  tools: `Usage: mcp-oauth tools <mcp-url> [--json]

Lists the tools (name and description). Uses the cached sign-in (refreshing it when needed); at a
terminal it signs in first when there is none, otherwise it exits 1 and prints the login command.
`,
  call: `Usage: mcp-oauth call <mcp-url> <tool> [--arg key=value]… [--json '{…}']

Calls a tool. --arg values are typed by the tool's input schema (numbers and booleans as JSON);
--json '{…}' gives all arguments as one JSON object (--arg entries are added to it). Progress is
a bar on stderr at a terminal, plain lines otherwise. Exits 1 when the tool reports an error.
A 403 insufficient_scope asks for a new sign-in with the extra scope (at a terminal).
`,
  logout: `Usage: mcp-oauth logout <mcp-url>

Revokes the refresh token (and the access token) at the authorization server (RFC 7009) and
removes the cached sign-in.
`,
  status: `Usage: mcp-oauth status [--json]

Lists cached sign-ins: server, issuer, user, scopes and when the access token expires. Never prints a token.
`,
};
