#!/usr/bin/env bash
# Back up the coordinator: its database (pg_dump, custom format) and its signing key, into a
# new folder DEST/lhs-coordinator-<UTC time> with their SHA-256 sums; print that folder.
#   backup.sh DEST          (as the service's user, with /etc/lhs/coordinator.env loaded)
# The folder holds the coordinator's private key: keep it, and every copy off the machine,
# as secret as the key itself (mode 0700 here; encrypt copies).
set -euo pipefail
umask 077

dest=${1:?usage: backup.sh DEST-FOLDER}
: "${LHS_DATABASE_URL:?set LHS_DATABASE_URL, as the service has it (/etc/lhs/coordinator.env)}"
key=${LHS_COORDINATOR_KEY_FILE:-/var/lib/lhs-coordinator/coordinator.key}
[ -f "$key" ] || { echo "backup.sh: no coordinator key at $key" >&2; exit 1; }
# libpq reads SQLAlchemy's URL once the driver name is gone.
url=${LHS_DATABASE_URL/postgresql+psycopg:/postgresql:}

out="$dest/lhs-coordinator-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dest"
mkdir "$out.partial"
pg_dump --format=custom --no-owner --no-privileges --file="$out.partial/coordinator.dump" "$url"
cp "$key" "$out.partial/coordinator.key"
(cd "$out.partial" && sha256sum coordinator.dump coordinator.key > SHA256SUMS)
# Only a complete backup gets its final name.
mv "$out.partial" "$out"
echo "$out"
