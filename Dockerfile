# Dark Factory daemon image: the daemon, git, and the four AI CLIs at the versions the tests run (pinned in
# .ci/install-clis), so AI agents are available, not `unavailable`. Configured only through environment variables
# (see docker-compose.yml): DF_POSTGRES (connection string), DF_DATA_DIR, DF_WORKTREES, DF_REVIEW_* / DF_FORGE_*,
# the forge token (GITHUB_TOKEN unless compound_review.forge.token_env names another variable) and the
# providers' keys (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, OPENCODE_API_KEY: whatever the fleet's
# providers[].api_key_env names).
#
# Build arguments for the repositories' gates (the compound review's build/test/lint commands run in the image):
#   BASE           the runtime base; mcr.microsoft.com/dotnet/sdk:10.0 adds the .NET SDK (dotnet build/test gates)
#   GATE_PACKAGES  extra Debian packages, e.g. "build-essential python3 python3-pytest golang-go"
# e.g. docker build --build-arg BASE=mcr.microsoft.com/dotnet/sdk:10.0 --build-arg GATE_PACKAGES="make" -t dark-factory:gates .
ARG BASE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Host/DarkFactory.Host.csproj -c Release -o /app --nologo

# the AI CLIs at the pinned versions (the same script and pins as CI's real-CLI tests), on a current Node.js
FROM node:22-bookworm-slim AS clis
COPY .ci/install-clis /usr/local/bin/df-install-clis
RUN df-install-clis /opt/darkfactory-clis && rm -rf /root/.npm

FROM ${BASE}
ARG GATE_PACKAGES=""
# git for the compound review, util-linux for setsid/prlimit (process groups, resource limits), bubblewrap for
# the agents' sandbox
RUN apt-get update \
 && apt-get install -y --no-install-recommends git util-linux bubblewrap ca-certificates ${GATE_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
COPY --from=clis /usr/local/bin/node /usr/local/bin/node
COPY --from=clis /opt/darkfactory-clis /opt/darkfactory-clis
ENV PATH=/opt/darkfactory-clis/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /app /app
COPY fleet.yaml fleet.schema.json /etc/darkfactory/
COPY agents /etc/darkfactory/agents
ENV DF_DATA_DIR=/var/lib/darkfactory \
    DF_WORKTREES=/var/lib/darkfactory-worktrees \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
VOLUME ["/var/lib/darkfactory", "/var/lib/darkfactory-worktrees"]
EXPOSE 7780
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "/app/df.dll"]
# Inside the container the API must listen on all interfaces; docker-compose.yml publishes it on the
# host's loopback only (127.0.0.1:7780).
CMD ["up", "--fleet", "/etc/darkfactory/fleet.yaml", "--listen", "0.0.0.0:7780", "--allow-remote"]
