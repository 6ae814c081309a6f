#!/bin/sh
# Registers the namespace meterbridge uses once the Temporal frontend answers. The worker and
# API register their search attributes themselves on start.
set -eu
ns="${DEFAULT_NAMESPACE:-default}"
tries=0
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -gt 60 ]; then
    echo "Temporal at ${TEMPORAL_ADDRESS} did not become healthy" >&2
    exit 1
  fi
  sleep 2
done
temporal operator namespace describe -n "$ns" --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$ns" --retention 30d --address "${TEMPORAL_ADDRESS}"
echo "namespace $ns ready"
