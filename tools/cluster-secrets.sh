#!/usr/bin/env bash
# Create the Secrets of a development cluster: MinIO's root user and one S3 identity per stage, each with a
# random password generated here and stored only in the cluster. Safe to run again (existing Secrets stay).
set -euo pipefail
namespace=${1:-argo}
identities="ingest url-normalization html-parsing text-normalization annotation train post-train release release-model analyst artifacts mlflow"
random() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }
secret() {  # namespace name key=value...
  local ns=$1 name=$2; shift 2
  if kubectl -n "$ns" get secret "$name" >/dev/null 2>&1; then return; fi
  local args=()
  for pair in "$@"; do args+=(--from-literal="$pair"); done
  kubectl -n "$ns" create secret generic "$name" "${args[@]}" >/dev/null
  echo "created secret $ns/$name"
}
kubectl create namespace minio --dry-run=client -o yaml | kubectl apply -f - >/dev/null
root_password=$(random)
secret minio minio-root rootUser=admin "rootPassword=$root_password"
# The bootstrap Job in the workflow namespace reads the same root credentials.
password=$(kubectl -n minio get secret minio-root -o jsonpath='{.data.rootPassword}' | base64 -d)
secret "$namespace" minio-root rootUser=admin "rootPassword=$password"
for identity in $identities; do
  secret "$namespace" "html-classification-s3-$identity" "accessKey=hc-$identity" "secretKey=$(random)"
done
secret "$namespace" html-classification-labeler "token=$(random)"
