#!/bin/bash
# both servers, SPINNING spin vs sleep (the new default), alternated round by round (interleaved), dual cache at 1 and 8 clients
cd "$(dirname "$0")/../.."
for round in 1 2; do
  for sp in spin sleep; do
    echo "## round $round spinning $sp load $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)"
    SPINNING=$sp PORT=18195 bench/run-throughput.sh both --caches dual --clients 1,8 --repeats 1 2>&1 | sed -n '/side by side/,$p'
  done
done
echo "## end load $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)"
