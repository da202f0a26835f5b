#!/usr/bin/env bash
echo "task: ${DF_TASK:-}"
echo "stdin: $(cat)"
