#!/bin/sh
# Discovery time per source and with all four, on the test fixtures (real crm_mon/cibadmin on
# tests/fixtures/cib/running.xml; dlm_tool and kubectl are stand-ins printing the fixture
# outputs, since neither can run here). Needs hyperfine. Run from anywhere:
#   sh crates/discovery/bench.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fx="$here/tests/fixtures"
target_dir=${CARGO_TARGET_DIR:-$here/../../target}
cargo build -q --release -p gfs2-discovery --example discover
bin="$target_dir/release/examples/discover"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\ncat %s\n' "$fx/dlm/ls.txt" > "$tmp/dlm_tool"
printf '#!/bin/sh\ncat %s\n' "$fx/nnf/nnfstorages.json" > "$tmp/kubectl"
chmod +x "$tmp/dlm_tool" "$tmp/kubectl"
common="cib_file=$fx/cib/running.xml dlm_tool=$tmp/dlm_tool kubectl=$tmp/kubectl corosync_conf=$fx/corosync/corosync.conf mountinfo=$fx/mounts/mountinfo gfs2_sysfs=$fx/mounts/sys-fs-gfs2"
"$bin" cn2 $common | head -40
hyperfine -N --warmup 3 --runs 30 --export-markdown "$tmp/bench.md" \
  -n pacemaker "$bin cn2 sources=pacemaker $common" \
  -n dlm "$bin cn2 sources=dlm $common" \
  -n nnf "$bin cn2 sources=nnf $common" \
  -n mounts "$bin cn2 sources=mounts $common" \
  -n all-four "$bin cn2 sources=pacemaker,dlm,nnf,mounts $common" >/dev/null
cat "$tmp/bench.md"
