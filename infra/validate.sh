#!/usr/bin/env bash
# Validates the deployment templates: cfn-lint on every CloudFormation/SAM template, a JSON-Schema check on every
# Kubernetes manifest (infra/k8s/check_manifests.py). Warnings fail too.
#
# Usage: infra/validate.sh             every template under infra/
#        infra/validate.sh FILE...     just these (a file is CloudFormation when it has AWSTemplateFormatVersion or
#                                      Resources at the top level, Kubernetes when it has apiVersion)
# Exit:  0 all valid, 1 something invalid, 3 cfn-lint or python3 missing (install: pip install cfn-lint)
# Run by functions' InfraTemplatesTest in ./mvnw verify.
set -uo pipefail
INFRA=$(cd "$(dirname "$0")" && pwd)

if ! command -v cfn-lint > /dev/null 2>&1; then
  echo "cfn-lint is not installed: pip install cfn-lint (it also brings PyYAML and jsonschema)" >&2
  exit 3
fi
if ! python3 -c 'import yaml, jsonschema' > /dev/null 2>&1; then
  echo "python3 with PyYAML and jsonschema is needed for the Kubernetes check: pip install cfn-lint" >&2
  exit 3
fi

if [ $# -gt 0 ]; then
  FILES=("$@")
else
  mapfile -t FILES < <(find "$INFRA/aws" "$INFRA/k8s" -name '*.yaml' -not -path '*/schema/*' | sort)
fi

cfn=() k8s=() status=0
for f in "${FILES[@]}"; do
  if [ ! -f "$f" ]; then
    echo "$f: no such file" >&2; status=1
  elif grep -qE '^(AWSTemplateFormatVersion|Resources):' "$f"; then
    cfn+=("$f")
  elif grep -qE '^apiVersion:' "$f"; then
    k8s+=("$f")
  else
    echo "$f: neither a CloudFormation template (AWSTemplateFormatVersion/Resources) nor a Kubernetes manifest (apiVersion)" >&2
    status=1
  fi
done

for f in "${cfn[@]}"; do
  if out=$(cfn-lint --format parseable -- "$f" 2>&1); then
    echo "cfn-lint: $f: valid"
  else
    echo "cfn-lint: $f: INVALID"; echo "$out"; status=1
  fi
done
if [ ${#k8s[@]} -gt 0 ]; then
  python3 "$INFRA/k8s/check_manifests.py" "${k8s[@]}" || status=1
fi
[ ${#cfn[@]} -gt 0 ] || [ ${#k8s[@]} -gt 0 ] || { echo "no template found" >&2; status=1; }
exit $status
