#!/usr/bin/env bash
# A single-node Slurm cluster on this host, for the sweep tests (and for trying `tbptt sweep slurm` by hand).
#
#   tests/slurm/cluster.sh start DIR   installs slurm-wlm and munge when missing (apt, as root), writes DIR/slurm.conf
#                                      for this host, starts munged (unless one runs), slurmctld and slurmd, waits
#                                      until the node is idle and prints `export SLURM_CONF=DIR/slurm.conf`.
#   tests/slurm/cluster.sh stop DIR    stops exactly the daemons that `start DIR` started (their pids are in DIR).
#
# Plain single-node settings: select/cons_tres over the machine's cores, no cgroups (proctrack/linuxproc,
# task/none), no accounting database; job arrays and requeue work.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1 dir=$2

stop() {
  # slurmd first (it ends running job steps), then the controller, then munged if we started it.
  for name in slurmd slurmctld munged; do
    local pidfile="$dir/$name.started.pid"
    [[ -f $pidfile ]] || continue
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

install_if_missing() {
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    echo "cluster: installing slurm-wlm and munge" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq slurm-wlm munge >&2
  fi
  export PATH="$PATH:/usr/sbin:/sbin"
}

wait_for() { # wait_for SECONDS COMMAND...: retries until the command succeeds
  local limit=$1; shift
  for _ in $(seq $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

start() {
  [[ $(id -u) -eq 0 ]] || { echo "cluster: must run as root (slurmd and munged)" >&2; exit 1; }
  install_if_missing
  mkdir -p "$dir/state" "$dir/spool"
  dir=$(cd "$dir" && pwd)
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
  cat > "$dir/slurm.conf" <<CONF
ClusterName=tbptt
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"

  # munged: reuse a running one (its socket answers), else start our own in the foreground as the munge user.
  if ! wait_for 1 munge -n; then
    [[ -f /etc/munge/munge.key ]] || { mungekey --create 2>/dev/null || create-munge-key; }
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge /etc/munge/munge.key
    runuser -u munge -- munged --foreground > "$dir/munged.out" 2>&1 &
    echo $! > "$dir/munged.started.pid"
    wait_for 10 munge -n || { echo "cluster: munged did not start" >&2; cat "$dir/munged.out" >&2; stop; exit 1; }
  fi
  slurmctld -D -f "$dir/slurm.conf" > "$dir/slurmctld.out" 2>&1 &
  echo $! > "$dir/slurmctld.started.pid"
  wait_for 20 scontrol ping || { echo "cluster: slurmctld did not answer" >&2; tail -20 "$dir/slurmctld.log" >&2 || true; stop; exit 1; }
  slurmd -D -f "$dir/slurm.conf" > "$dir/slurmd.out" 2>&1 &
  echo $! > "$dir/slurmd.started.pid"
  # The node registers as idle once slurmd has reported its resources.
  if ! wait_for 30 bash -c "sinfo -h -N -o '%T' | grep -qx idle"; then
    echo "cluster: the node did not become idle:" >&2
    sinfo -N >&2 || true; tail -20 "$dir/slurmd.log" >&2 || true
    stop; exit 1
  fi
  # Another cluster on this host's default ports would answer the clients above: make sure ours is the one up.
  for name in slurmctld slurmd; do
    kill -0 "$(cat "$dir/$name.started.pid")" 2>/dev/null \
      || { echo "cluster: $name exited (another Slurm on this host's ports?); see $dir/$name.out" >&2; stop; exit 1; }
  done
  # (captured first: with pipefail, grep -q closing the pipe early would fail scontrol with SIGPIPE)
  local config; config=$(scontrol show config 2>/dev/null || true)
  grep -q "ClusterName *= *tbptt" <<< "$config" \
    || { echo "cluster: the controller answering is not this cluster's" >&2; stop; exit 1; }
  echo "export SLURM_CONF=$dir/slurm.conf"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
