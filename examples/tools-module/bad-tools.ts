/** Not a tools module: what MCP_TOOLS_MODULE refuses at start (tools-module.test.ts). */
export const tools = [{ name: 'not-made-with-defineTool' }];
