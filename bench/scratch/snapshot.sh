#!/bin/sh
# Scratch (perf helper): save or restore every dist/ folder of the workspace (one build), for
# interleaved A/B runs of stack.mjs.   sh bench/scratch/snapshot.sh save|restore DIR
set -e
cd "$(dirname "$0")/../.."
case "$1" in
  save) mkdir -p "$2"; tar cf "$2/dist.tar" packages/*/dist services/*/dist ;;
  restore) rm -rf packages/*/dist services/*/dist; tar xf "$2/dist.tar" ;;
esac
