#!/bin/sh
# Run once by the minio-init service of docker-compose.yml (image minio/mc): the lake bucket, and two
# identities — the pipeline (read/write on every zone) and the readers of the published outputs (read on
# <prefix>/public/ only). Policies: infra/minio/*-policy.json, with ${BUCKET} and ${PREFIX} filled in.
set -eu
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$OBS_LAKE_BUCKET"
for name in pipeline public-reader; do
  sed -e "s|\${BUCKET}|$OBS_LAKE_BUCKET|g" -e "s|\${PREFIX}|$OBS_LAKE_PREFIX|g" \
    "/policies/$name-policy.json" > "/tmp/$name.json"
  mc admin policy create local "observatoire-$name" "/tmp/$name.json"
done
mc admin user add local "$OBS_PIPELINE_ACCESS_KEY" "$OBS_PIPELINE_SECRET_KEY"
mc admin user add local "$OBS_READER_ACCESS_KEY" "$OBS_READER_SECRET_KEY"
attach() {  # idempotent: a rerun finds the policy already attached, which is fine; any other error is not
  mc admin policy attach local "$1" --user "$2" 2>/tmp/attach.err || grep -qi "already" /tmp/attach.err \
    || { cat /tmp/attach.err >&2; exit 1; }
}
attach observatoire-pipeline "$OBS_PIPELINE_ACCESS_KEY"
attach observatoire-public-reader "$OBS_READER_ACCESS_KEY"
echo "lake bucket $OBS_LAKE_BUCKET ready; public zone: $OBS_LAKE_BUCKET/$OBS_LAKE_PREFIX/public/"
