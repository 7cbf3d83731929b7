#!/usr/bin/env bash
# Makes single-list-build.json: a data directory written by commit 4aed547, the last build that
# kept one list of migrations, as SingleListDataTests opens it. Not run by the tests or CI; kept to
# say how the fixture was made. Needs git, the .NET SDK, bubblewrap and boto3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill %1 2>/dev/null || true; git -C "$here" worktree remove --force "$work/src" 2>/dev/null || true; rm -rf "$work"' EXIT
git -C "$here" worktree add --detach "$work/src" 4aed547 >/dev/null
dotnet build "$work/src/src/Hayate" -nologo -v q >/dev/null
dotnet "$work/src/src/Hayate/bin/Debug/net10.0/hayate.dll" serve --port 4699 --data "$work/data" 2>"$work/serve.log" &
until grep -q 'hayate: ready' "$work/serve.log"; do sleep 0.2; done
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
facts=$(python3 "$here/populate-single-list-build.py" http://127.0.0.1:4699)
kill -TERM %1; wait %1 || true
python3 - "$work/data" "$facts" > "$here/single-list-build.json" <<'PY'
import base64, json, os, sqlite3, sys
data, facts = sys.argv[1], json.loads(sys.argv[2])
db = sqlite3.connect(os.path.join(data, 'hayate.db'))
files = {'master.key': base64.b64encode(open(os.path.join(data, 'master.key'), 'rb').read()).decode()}
for name in sorted(os.listdir(os.path.join(data, 'blobs'))):
    files['blobs/' + name] = base64.b64encode(open(os.path.join(data, 'blobs', name), 'rb').read()).decode()
json.dump({'commit': '4aed547', 'facts': facts, 'sql': list(db.iterdump()), 'files': files}, sys.stdout, indent=1)
PY
echo "wrote $here/single-list-build.json" >&2
