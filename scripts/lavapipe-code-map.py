#!/usr/bin/env python3
"""Where in lavapipe's JIT-compiled kernels a perf profile's samples fall, page by page, with each page's instruction
mix: the unrolled kernels are hundreds of KiB of straight-line code, so the hottest single addresses say little and
the shape of each page says which part of the kernel it is.

    scripts/lavapipe-code-map.py PID PERF_DATA OUT_DIR [--page-bits 13]

PID must be the profiled process, still running (the code is read from /proc/PID/mem; the JIT code has no file
behind it). Needs perf and objdump (binutils). Writes OUT_DIR/code-map.txt: for each executable mapping with ≥ 1 %
of the samples, its 8 KiB pages with their share of all samples and their instruction counts by kind:
  blend  vblendvps/vpblendvb: a value written under a mask (llvmpipe writes a variable inside a loop or branch as
         load, compute, blend with the lanes' mask, store)
  ld/st  a 32-byte vector load/store from/to memory (mostly the stack: values that did not fit in registers)
  mulm/addm/fmam  vector arithmetic with a memory operand;  mul/add/fma  the same on registers
  lane   scalar inserts/extracts/loads (vmovd, vpinsrd, vpextrd, ...): per-lane loops, e.g. a storage-buffer
         access at a per-lane address
  jmp    branches;  oth  everything else
A sample is charged to the instruction before the one it landed on (a timer sample lands after the instruction that
held it up). docs/bench.md, "Profiling the kernels on lavapipe", says how to read it.
"""
import bisect
import collections
import subprocess
import sys
import tempfile


def kind(text):
    op = text.split()[0] if text else "?"
    mem = "(" in text
    if op.startswith("vmov") and op[4:6] in ("up", "ap", "dq"):
        return ("st" if text.rstrip().endswith(")") else "ld") if mem else "mov"
    if op.startswith("vfmadd") or op.startswith("vfnmadd"):
        return "fmam" if mem else "fma"
    if op in ("vmulps", "vaddps", "vsubps"):
        return op[1:4] + ("m" if mem else "")
    if op.startswith("vblendv") or op.startswith("vpblendv"):
        return "blend"
    if op.startswith("j"):
        return "jmp"
    if op in ("vmovd", "vmovss", "vpinsrd", "vpextrd", "vextractps", "vinsertps", "vpbroadcastd") and (
        mem or op in ("vpinsrd", "vpextrd", "vextractps", "vinsertps")
    ):
        return "lane"
    return "oth"


def main():
    args = sys.argv[1:]
    page_bits = 13
    if "--page-bits" in args:
        i = args.index("--page-bits")
        page_bits = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    pid, perf_data, out = args
    ips = []
    script = subprocess.run(["perf", "script", "-i", perf_data, "-F", "ip"], capture_output=True, text=True)
    for line in script.stdout.split():
        try:
            ips.append(int(line, 16))
        except ValueError:
            pass
    if not ips:
        sys.exit("lavapipe-code-map: no samples in " + perf_data)
    maps = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if "x" in fields[1] and len(fields) < 6:  # executable, no file behind it: JIT code
                maps.append((lo, hi))
    lines = [f"{len(ips)} samples; pages of {1 << page_bits} bytes; kinds: see the script's header"]
    mem = open(f"/proc/{pid}/mem", "rb")
    for lo, hi in maps:
        inside = [ip for ip in ips if lo <= ip < hi]
        if len(inside) < 0.01 * len(ips):
            continue
        mem.seek(lo)
        code = mem.read(hi - lo)
        with tempfile.NamedTemporaryFile(suffix=".bin") as tmp:
            tmp.write(code)
            tmp.flush()
            dump = subprocess.run(
                ["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", f"--adjust-vma={lo:#x}", tmp.name],
                capture_output=True,
            ).stdout.decode(errors="replace")
        ins = {}
        for row in dump.splitlines():
            parts = row.split("\t")
            if len(parts) >= 3 and parts[0].strip().endswith(":"):
                ins[int(parts[0].strip()[:-1], 16)] = parts[2].strip()
        addrs = sorted(ins)
        mix = collections.defaultdict(collections.Counter)
        for a in addrs:
            mix[a >> page_bits][kind(ins[a])] += 1
        hits = collections.Counter()
        for ip in inside:
            i = bisect.bisect_left(addrs, ip)
            a = addrs[max(i - 1, 0)]
            hits[a >> page_bits] += 1
        lines.append(f"mapping {lo:#x}-{hi:#x}: {100 * len(inside) / len(ips):.1f} % of the samples")
        for page in sorted(mix):
            if hits[page] < 0.002 * len(ips):
                continue
            m = mix[page]
            top = " ".join(f"{k}:{v}" for k, v in m.most_common(7))
            lines.append(f"  {page << page_bits:#x} {100 * hits[page] / len(ips):5.1f} %  {sum(m.values()):5d} ins  {top}")
    with open(f"{out}/code-map.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
