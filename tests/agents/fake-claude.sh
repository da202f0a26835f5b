#!/usr/bin/env bash
# A scripted stand-in for `claude -p ... --output-format stream-json` (configure it as an AI agent's command):
#   ok     an init line, an answer, a result with token usage and cost; exit 0
#   limit  the same, but the API rejects it: a rate_limit_event (resets in an hour) and an error result; exit 1
#   hang       as ok, but it never exits after its result (a hung MCP server or hook)
#   hang-fail  an error result, then it never exits and ignores SIGTERM
mode=${1:-ok}
echo '{"type":"system","subtype":"init","session_id":"fake-'$$'","model":"claude-mock"}'
if [ "$mode" = limit ]; then
  echo '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","rateLimitType":"five_hour","resetsAt":'$(( $(date +%s) + 3600 ))'}}'
  echo '{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: Request rejected (429)","usage":{"input_tokens":10,"output_tokens":0}}'
  exit 1
fi
if [ "$mode" = hang-fail ]; then
  trap '' TERM
  echo '{"type":"result","subtype":"error_during_execution","is_error":true,"result":"The test still fails.","usage":{"input_tokens":900,"output_tokens":200}}'
  exec sleep 600
fi
echo '{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Done: '"${DF_TASK:-nothing}"'"}]}}'
echo '{"type":"result","subtype":"success","is_error":false,"result":"Done.","total_cost_usd":0.0125,"usage":{"input_tokens":1200,"cache_creation_input_tokens":0,"cache_read_input_tokens":300,"output_tokens":450}}'
if [ "$mode" = hang ]; then
  exec sleep 600
fi
exit 0
