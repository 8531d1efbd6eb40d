#!/usr/bin/env bash
# Restore a backup made by backup.sh: the database into an EMPTY database, the signing key
# into its place (refusing to replace a different key).  Stop the service first, and create
# the empty database as postgres (deploy/README.md, "Restore"); run `lhs coordinator init`
# after, which checks the schema and prints the key's fingerprint.
#   restore.sh BACKUP-FOLDER   (as the service's user, with /etc/lhs/coordinator.env loaded)
set -euo pipefail
umask 077

src=${1:?usage: restore.sh BACKUP-FOLDER}
: "${LHS_DATABASE_URL:?set LHS_DATABASE_URL, as the service has it (/etc/lhs/coordinator.env)}"
key=${LHS_COORDINATOR_KEY_FILE:-/var/lib/lhs-coordinator/coordinator.key}
url=${LHS_DATABASE_URL/postgresql+psycopg:/postgresql:}

(cd "$src" && sha256sum --check --quiet SHA256SUMS) || {
    echo "restore.sh: $src does not match its SHA256SUMS; not restoring it" >&2
    exit 1
}
if [ -e "$key" ] && ! cmp -s "$key" "$src/coordinator.key"; then
    echo "restore.sh: $key exists and is another key; the nodes pinned the one in the backup." >&2
    echo "Move $key away first if the backup's key is the right one." >&2
    exit 1
fi
pg_restore --exit-on-error --single-transaction --no-owner --no-privileges \
    --dbname="$url" "$src/coordinator.dump"
mkdir -p "$(dirname "$key")"
install -m 600 "$src/coordinator.key" "$key"
echo "restored $src; now run: lhs coordinator init"
