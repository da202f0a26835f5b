# Dark Factory daemon image. Configured only through environment variables (see docker-compose.yml):
# DF_POSTGRES (connection string), DF_DATA_DIR, DF_WORKTREES, DF_REVIEW_* / DF_FORGE_* and the forge
# token (GITHUB_TOKEN unless compound_review.forge.token_env names another variable).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Host/DarkFactory.Host.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# git for the compound review, util-linux for setsid/prlimit (process groups, resource limits)
RUN apt-get update \
 && apt-get install -y --no-install-recommends git util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
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
