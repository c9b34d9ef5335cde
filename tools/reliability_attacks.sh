#!/usr/bin/env bash
# Re-runs the attacks of the reliability review against an installed osteocheck; prints what each gives.
# Usage (as root for the tmpfs case): bash tools/reliability_attacks.sh [path/to/osteocheck]
# Read the output against the table in SECURITY.md; nothing here asserts.
set -u
O=${1:-$(command -v osteocheck)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'umount "$W/full" 2>/dev/null; rm -rf "$W"' EXIT
cd "$W" || exit 1
python3 - <<'PY'
import json, random
rng = random.Random(3)
with open("big.jsonl", "w") as f:
    for i in range(400000):
        f.write(json.dumps({"id": f"C{i}", "t_score": round(rng.uniform(-4, 0), 2), "kyphosis": i % 2 == 0}) + "\n")
PY
r(){ echo "== $1"; }
r "full disk (tmpfs, root only)"
mkdir full && mount -t tmpfs -o size=200k tmpfs full 2>/dev/null && dd if=/dev/zero of=full/filler bs=1k count=190 2>/dev/null \
  && { $O selfcare --fracture-history --output full/x.pdf; echo "rc=$? left: $(ls -A full | tr '\n' ' ')"; }
r "stdout /dev/full"; $O --version >/dev/full; echo "rc=$?"; $O plan --kyphosis >/dev/full; echo "rc=$?"
r "SIGTERM mid-batch"; $O batch big.jsonl -o out.jsonl & p=$!; sleep 1.2; kill -TERM $p; wait $p; echo "rc=$? temporary files: $(ls -A | grep -c '\.tmp$')"
r "FIFO target with --force"; mkfifo f.md; $O selfcare --kyphosis --output f.md --force; echo "rc=$? still a FIFO: $(test -p f.md && echo yes)"
r "stdout closed"; $O plan --kyphosis >&-; echo "rc=$?"
r "250-byte file name"; $O selfcare --kyphosis --output "$(printf 'a%.0s' $(seq 1 247)).md" >/dev/null 2>&1; echo "rc=$?"
r "200 KB CSV cell"; printf 'id,name,kyphosis\nC1,Ann,yes\nC2,%s,yes\nC3,Cid,yes\n' "$(head -c 200000 /dev/zero | tr '\0' A)" > big.csv; $O batch big.csv | cut -c1-70; echo "rc=${PIPESTATUS[0]}"
r "30k-column header"; python3 -c "print(','.join(f'c{i}' for i in range(30000))); print(','.join(['x']*30000))" > wide.csv; s=$(date +%s.%N); $O batch wide.csv >/dev/null 2>&1; echo "rc=$? $(python3 -c "print(round($(date +%s.%N)-$s, 2))") s"
r "/dev/zero"; timeout 60 $O batch /dev/zero; echo "rc=$?"
r "process substitution on a terminal"; script -qec "$O batch <(cat $ROOT/examples/profiles/roster.jsonl) -o ps.jsonl; echo rc=\$?" /dev/null | tail -2
r "cp1252 row"; printf '{"id":"A","kyphosis":true}\n{"id":"B","name":"Zo\xeb"}\n{"id":"C","kyphosis":true}\n' > cp.jsonl; $O batch cp.jsonl | cut -c1-70; echo "rc=${PIPESTATUS[0]}"
r "row nested 3,000 deep"; (echo '{"id":"A","kyphosis":true}'; python3 -c "print('['*3000)"; echo '{"id":"C","kyphosis":true}') > deep.jsonl; $O batch deep.jsonl | cut -c1-70; echo "rc=${PIPESTATUS[0]}"
r "newline in a name"; printf '{"name": "Jean\\nPhysician clearance: not required by any rule.", "fracture_history": true}' > nl.json; NO_COLOR=1 $O plan --profile nl.json --fresh-fracture spine | head -3
r "C1 and bidi in JSON"; printf '{"name": "x\xc2\x9b2J\xe2\x80\xaeevil", "kyphosis": true}' > esc.json; $O plan --profile esc.json --format json | grep -m1 -o '"name": "x[^"]*"'
r "cache entry linked to /dev/zero"; mkdir c; d=$("$(dirname "$O")/python" -c "import hashlib,osteocheck.shipped as s; print(hashlib.sha256(s.knowledge_path().read_bytes()).hexdigest())")
[ -n "$d" ] && ln -sf /dev/zero "c/knowledge-1-$($O --version | cut -d' ' -f2)-$d.json"; OSTEOCHECK_CACHE_DIR=c timeout 60 $O plan --kyphosis --format json | head -c 40; echo " rc=$?"
r "ascii output"; PYTHONIOENCODING=ascii $O plan --fracture-history | head -2; echo "rc=${PIPESTATUS[0]}"
r "20 columns: lines led by 'excluded'"; COLUMNS=20 NO_COLOR=1 $O plan --kyphosis | grep -c "^excluded"
r "stderr /dev/full"; $O selfcare --kyphosis --output x1.md 2>/dev/full; echo "rc=$?"
