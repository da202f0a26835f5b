#!/usr/bin/env bash
# dependency-audit: list NuGet and npm manifests, then ask dotnet (and npm, if present) for known-vulnerable
# packages. Offline or unrestored, it says so and carries on. Exit 1 only when a vulnerable package is reported.
set -eu
cd "${1:-.}"

echo "dependency-audit: manifests in $(pwd):"
find . \( -name node_modules -o -name .git -o -name bin -o -name obj \) -prune -o \
  \( -name '*.csproj' -o -name '*.fsproj' -o -name Directory.Packages.props -o -name packages.config \
     -o -name package.json -o -name package-lock.json \) -print | sort | sed 's/^/  /'

vulnerable=0
if command -v dotnet >/dev/null 2>&1; then
  target=$(find . -maxdepth 1 -name '*.sln' -o -maxdepth 1 -name '*.slnx' | head -n 1)
  if [ -n "$target" ]; then
    if out=$(timeout "${AUDIT_TIMEOUT:-300}" dotnet list "$target" package --vulnerable --include-transitive 2>&1); then
      if printf '%s\n' "$out" | grep -q 'has the following vulnerable packages'; then
        printf '%s\n' "$out"
        vulnerable=1
      else
        echo "dependency-audit: no vulnerable NuGet packages reported"
      fi
    else
      echo "dependency-audit: could not check NuGet packages (offline or not restored); skipped:"
      printf '%s\n' "$out" | tail -n 3 | sed 's/^/  /'
    fi
  fi
else
  echo "dependency-audit: dotnet not installed; NuGet check skipped"
fi

if [ -f package-lock.json ] && command -v npm >/dev/null 2>&1; then
  if timeout "${AUDIT_TIMEOUT:-300}" npm audit --omit=dev; then
    echo "dependency-audit: npm audit clean"
  elif [ $? -eq 1 ]; then
    vulnerable=1
  else
    echo "dependency-audit: npm audit unavailable (offline?); skipped"
  fi
fi

exit "$vulnerable"
