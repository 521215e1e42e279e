# One image for both servers. The default command runs the auth server; the resource server's
# container runs `node resource-server/main.ts` (docker-compose.yml does both).
FROM node:24-slim

ENV NODE_ENV=production \
    DATA_DIR=/var/lib/mcp-oauth-stack/data \
    KEYS_DIR=/var/lib/mcp-oauth-stack/keys

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Sources only: .dockerignore lets in package files, common/, auth-server/, resource-server/,
# views/ and the health check, never tests, keys or data.
COPY . .

# Named volumes mounted here start as copies of these directories, so the node user owns them.
RUN mkdir -p /var/lib/mcp-oauth-stack/data /var/lib/mcp-oauth-stack/keys \
    && chown -R node:node /var/lib/mcp-oauth-stack

USER node

EXPOSE 3000 3001

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "deploy/healthcheck.ts"]

CMD ["node", "auth-server/main.ts"]
