#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to try `snnbench sweep --executor slurm` without a real cluster (and for
# its test). Everything it starts is private: its own munge key and socket, its own slurm.conf, state and logs in
# STATE_DIR (default /tmp/snnbench-slurm), its own ports; `stop` stops only the daemons `start` started, by their pid
# files. Needs root and Debian's `slurm-wlm` and `munge` packages (scripts/setup.sh installs them).
#
#   scripts/slurm-one-node.sh start [STATE_DIR]   # then: export SLURM_CONF=STATE_DIR/slurm.conf
#   scripts/slurm-one-node.sh stop  [STATE_DIR]
set -euo pipefail

action=${1:-}
state=${2:-/tmp/snnbench-slurm}
conf="$state/slurm.conf"

stop() {
  for d in slurmd slurmctld munged; do
    pidfile="$state/$d.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidfile"
  done
}

case "$action" in
  start)
    if [ "$(id -u)" -ne 0 ]; then echo "error: run as root (the daemons need it)" >&2; exit 1; fi
    for b in munged slurmctld slurmd sbatch sinfo; do
      command -v "$b" >/dev/null || { echo "error: $b not found; install slurm-wlm and munge (scripts/setup.sh)" >&2; exit 1; }
    done
    stop
    mkdir -p "$state"/{ctld,spool,log,munge}
    chmod 700 "$state/munge"
    [ -f "$state/munge/munge.key" ] || { head -c 1024 /dev/urandom > "$state/munge/munge.key"; chmod 400 "$state/munge/munge.key"; }
    munged --force --key-file="$state/munge/munge.key" --socket="$state/munge/munge.socket" \
      --pid-file="$state/munged.pid" --log-file="$state/log/munged.log" --seed-file="$state/munge/seed"
    host=$(hostname -s)
    cat > "$conf" <<EOF
# Written by scripts/slurm-one-node.sh: this host as controller and only node.
ClusterName=snnbench
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    slurmctld -f "$conf"
    slurmd -f "$conf"
    export SLURM_CONF="$conf"
    for _ in $(seq 100); do
      if [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = "idle" ]; then
        echo "one-node Slurm cluster up ($host, $(nproc) CPUs); export SLURM_CONF=$conf"
        exit 0
      fi
      sleep 0.2
    done
    echo "error: the node did not come up; logs in $state/log/" >&2
    stop
    exit 1
    ;;
  stop)
    stop
    echo "stopped the one-node Slurm cluster in $state"
    ;;
  *)
    echo "usage: $0 start|stop [STATE_DIR]" >&2
    exit 2
    ;;
esac
