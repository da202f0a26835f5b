#!/usr/bin/env bash
# Records a real CLI's machine-readable output against the mock model server into a fixture file.
# Usage: tests/Adapters/Fixtures/record.sh CLI SCRIPT [PROMPT]
#   CLI: claude | codex | opencode | gemini; SCRIPT: text | 429 | 500 | tool:NAME:ARGS_JSON
# Needs the CLIs (.ci/install-clis) and a built mock (dotnet build tests/MockModelServer).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cli=$1; script=$2; prompt=${3:-Say hello}
# opencode retries a 429 silently, honouring retry-after: a short one keeps the recording short
[ "$cli" = opencode ] && [ "$script" = 429 ] && script=429:1
bin=${DF_TEST_CLI_BIN:-$HOME/.cache/darkfactory/clis/node_modules/.bin}
port=$((30000 + RANDOM % 20000))
work=$(mktemp -d /tmp/df-record.XXXXXX)
mkdir -p "$work/home" "$work/tmp" "$work/wd"
dotnet "$root/tests/MockModelServer/bin/Debug/net10.0/DarkFactory.MockModelServer.dll" "$port" "$script" > "$work/mock.log" 2>&1 &
mock=$!
for _ in $(seq 50); do grep -q "mock model server" "$work/mock.log" && break; sleep 0.1; done
base="http://127.0.0.1:$port"
export HOME="$work/home" TMPDIR="$work/tmp" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" XDG_CACHE_HOME="$work/home/.cache" XDG_STATE_HOME="$work/home/.local/state"
name=$(echo "$script" | cut -d: -f1)
out="$here/$cli-$name.jsonl"
cd "$work/wd"
case $cli in
  claude)
    ANTHROPIC_BASE_URL=$base ANTHROPIC_API_KEY=sk-mock CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
    DISABLE_AUTOUPDATER=1 DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_MAX_RETRIES=1 API_TIMEOUT_MS=20000 \
      timeout 120 "$bin/claude" -p "$prompt" --output-format stream-json --verbose --permission-mode acceptEdits --model claude-mock < /dev/null > "$out" 2> "$work/stderr"
    ;;
  codex)
    mkdir -p "$work/codex"
    cat > "$work/codex/config.toml" <<TOML
model = "gpt-5.5"
model_provider = "df"
check_for_update_on_startup = false
approval_policy = "never"
sandbox_mode = "workspace-write"
[analytics]
enabled = false
[feedback]
enabled = false
[otel]
exporter = "none"
[features]
plugins = false
apps = false
remote_plugin = false
[model_providers.df]
name = "mock"
base_url = "$base/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 1
stream_max_retries = 1
stream_idle_timeout_ms = 20000
TOML
    CODEX_HOME="$work/codex" OPENAI_API_KEY=sk-mock timeout 120 "$bin/codex" exec --json --skip-git-repo-check "$prompt" < /dev/null > "$out" 2> "$work/stderr"
    ;;
  opencode)
    mkdir -p "$XDG_CONFIG_HOME/opencode"
    cat > "$XDG_CONFIG_HOME/opencode/opencode.json" <<JSON
{"\$schema":"https://opencode.ai/config.json","autoupdate":false,"share":"disabled","model":"df/mock-model",
 "provider":{"df":{"npm":"@ai-sdk/openai-compatible","name":"mock","options":{"baseURL":"$base/v1","apiKey":"{env:OPENAI_API_KEY}","timeout":20000},
 "models":{"mock-model":{"name":"mock-model"}}}}}
JSON
    OPENAI_API_KEY=sk-mock OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1 OPENCODE_DISABLE_SHARE=1 \
      timeout 120 "$bin/opencode" run --pure --format json -m df/mock-model "$prompt" < /dev/null > "$out" 2> "$work/stderr"
    ;;
  gemini)
    mkdir -p "$HOME/.gemini"
    echo '{"security":{"auth":{"selectedType":"gemini-api-key"}},"general":{"enableAutoUpdate":false,"maxAttempts":2},"privacy":{"usageStatisticsEnabled":false},"telemetry":{"enabled":false}}' > "$HOME/.gemini/settings.json"
    GOOGLE_GEMINI_BASE_URL=$base GEMINI_API_KEY=sk-mock GEMINI_CLI_TRUST_WORKSPACE=true \
      timeout 120 "$bin/gemini" -p "$prompt" --output-format stream-json -m gemini-mock --approval-mode yolo < /dev/null > "$out" 2> "$work/stderr"
    ;;
esac
code=$?
kill -TERM $mock; wait $mock
echo "exit $code -> $out"
echo "--- stderr (tail)"; tail -5 "$work/stderr"
echo "--- mock"; cat "$work/mock.log"
rm -rf "$work"
