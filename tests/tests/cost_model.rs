//! `snnbench cost`: the JSON contract, the memory map against the paper's 680 KB, the real-time verdict, one
//! boundary on both sides of every ratio, a band that contains every one-factor sensitivity, a measured GPU side
//! leading the headline, one hand-computed cycles and energy case, counts derived from the shape agreeing with
//! emulated ones, the typed SRAM error (also for shapes far too large to allocate), and a user chip file.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use tests::snnbench;

fn cost(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["cost", "--json", "--samples", "2"];
    all.extend_from_slice(args);
    serde_json::from_str(&snnbench(&all).expect("cost runs")).expect("valid JSON")
}

#[test]
fn json_contract_and_the_paper_network() {
    let r = cost(&[]);
    for key in [
        "memory_bytes_total",
        "memory_bytes_per_pe",
        "cycles_per_step_max",
        "real_time",
        "energy_j_per_sample_chip",
        "energy_j_per_sample_gpu",
        "energy_ratio",
        "energy_ratio_band",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    // Every number in the report is finite; every energy, cycle count and ratio is positive.
    fn walk(v: &serde_json::Value, path: &str, bad: &mut Vec<String>) {
        match v {
            serde_json::Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                let positive = ["energy", "cycles_per", "ratio", "time_s"].iter().any(|k| path.contains(k));
                if !x.is_finite() || (positive && x <= 0.0 && !path.contains("margin")) {
                    bad.push(format!("{path} = {x}"));
                }
            }
            serde_json::Value::Array(a) => {
                a.iter().enumerate().for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), bad))
            }
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| walk(x, &format!("{path}.{k}"), bad)),
            _ => {}
        }
    }
    let mut bad = Vec::new();
    walk(&r, "", &mut bad);
    // Packets and accelerators may be zero by design; everything else named above must be positive.
    bad.retain(|b| !(b.contains("accelerators") || b.contains("energy_accelerators_j")));
    assert!(bad.is_empty(), "non-finite or non-positive values: {bad:?}");
    let per_pe = r["memory_bytes_per_pe"].as_array().unwrap();
    assert_eq!(per_pe.len(), 12);
    let total = r["memory_bytes_total"].as_u64().unwrap();
    assert_eq!(per_pe.iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), total);
    // 680 KiB read: the full map is within 3 %; the learning state without the per-PE ε^v copies is docs/hardware.md's
    // 695,040 B layout (checked exactly in models' unit test).
    let vs = r["memory_vs_paper"].as_f64().unwrap();
    assert!(vs.abs() < 0.03, "memory vs paper {vs}");
    // The documented reason the full total is not within 2 %: the synaptic state (docs/hardware.md's layout) is, and the
    // note says which sum lands where, with the numbers of this map.
    assert_eq!(r["memory_bytes_synaptic_state"].as_u64().unwrap(), 695_040);
    let note = r["memory_note"].as_str().unwrap();
    assert!(note.contains(&format!("{total} B")), "{note}");
    assert!(note.contains("695040 B = -0.18 % vs 680 KiB") && note.contains("within 2 % of 680 KiB"), "{note}");
    assert_eq!(r["real_time"], true);
    let band = r["energy_ratio_band"].as_array().unwrap();
    let (lo, hi) = (band[0].as_f64().unwrap(), band[1].as_f64().unwrap());
    let ratio = r["energy_ratio"].as_f64().unwrap();
    assert!(lo <= ratio && ratio <= hi && lo > 0.0, "{lo} ≤ {ratio} ≤ {hi}");
    // The band contains every one-factor sensitivity (it is the range over every combination of the bounds).
    for s in r["sensitivity"].as_array().unwrap() {
        for k in ["ratio_low", "ratio_high"] {
            let v = s[k].as_f64().unwrap();
            assert!(
                lo <= v * (1.0 + 1e-12) && v <= hi * (1.0 + 1e-12),
                "{}: {k} {v} outside [{lo}, {hi}]",
                s["factor"]
            );
        }
    }
    // One boundary on both sides: the headline is the total boundary, its set counts the chip floor whenever the
    // GPU side is a board power, and without a measurement it says the GPU side is assumed.
    assert_eq!(r["boundary"], "total");
    assert_eq!(r["gpu_measured"], false);
    assert!(r["headline_gpu"].as_str().unwrap().starts_with("assumed"), "{}", r["headline_gpu"]);
    for s in r["assumption_sets"].as_array().unwrap() {
        let set = &s["set"];
        let total = set["boundary"] == "total";
        assert_eq!(set["include_chip_floor"], total, "{}", set["name"]);
        assert!(set.get("gpu_power").is_some());
    }
    let head = r["assumption_sets"].as_array().unwrap().iter().find(|s| s["set"]["name"] == r["headline_set"]).unwrap();
    assert_eq!(head["set"]["include_chip_floor"], true);
    assert_eq!(head["energy_ratio"].as_f64().unwrap(), ratio);
    let dynamic = r["energy_ratio_dynamic"].as_f64().unwrap();
    assert!(dynamic.is_finite() && dynamic > 0.0);
    // The three trace-loop levels: cheapest first, each priced, the hand-computed cycles per synapse-step.
    let codes = r["trace_codes"].as_array().unwrap();
    let cyc: Vec<f64> = codes.iter().map(|c| c["cycles_per_synapse_step"].as_f64().unwrap()).collect();
    assert_eq!(cyc, [19.5, 28.0, 47.0]);
    assert!(codes.iter().all(|c| c["real_time"] == true), "every level keeps real time at 150 MHz");
    // The paper's profile: the trace update takes most cycles.
    let phases = r["chip_cost"]["cycles_by_phase"].as_array().unwrap();
    let top = phases.iter().max_by(|a, b| a[1].as_f64().unwrap().total_cmp(&b[1].as_f64().unwrap())).unwrap();
    assert_eq!(top[0], "trace update");
    assert!(!r["sensitivity"].as_array().unwrap().is_empty());
    assert!(r["what_ifs"].as_array().unwrap().len() >= 8);
}

#[test]
fn memory_follows_the_network_size() {
    let small = cost(&["--n-rec", "60", "--pes", "6"]);
    let paper = cost(&[]);
    let (s, p) = (
        small["memory_bytes_learning_state"].as_u64().unwrap(),
        paper["memory_bytes_learning_state"].as_u64().unwrap(),
    );
    // Learning state: (weights ×4 + 3 traces per synapse) + one ε^v copy per PE.
    let expect = |n_rec: u64, pes: u64| {
        (((80 + n_rec) * n_rec + n_rec * 12) * 4 * 4 + (80 + n_rec) * n_rec * 3 * 4) + pes * (80 + n_rec) * 4
    };
    assert_eq!(p, expect(120, 12));
    assert_eq!(s, expect(60, 6));
}

#[test]
fn oversized_network_is_the_typed_sram_error() {
    let err = snnbench(&["cost", "--n-rec", "600"]).expect_err("must not fit");
    let msg = format!("{err:#}");
    assert!(msg.contains("PE 0") && msg.contains("too many") && msg.contains("--pes"), "{msg}");
}

#[test]
fn a_chip_file_changes_the_fit() {
    let dir = tempfile::tempdir().unwrap();
    let chip = dir.path().join("chip.toml");
    std::fs::write(&chip, "sram_bytes_per_pe = 262144\n").unwrap();
    // 6 PEs (20 neurons each) overflow 128 KB but fit 256 KB.
    assert!(snnbench(&["cost", "--pes", "6"]).is_err());
    let r = cost(&["--pes", "6", "--chip", chip.to_str().unwrap()]);
    assert_eq!(r["memory_bytes_per_pe"].as_array().unwrap().len(), 6);
}

/// A measured GPU side leads the headline, at both boundaries: total = NVML board energy, dynamic = above idle.
#[test]
fn a_measured_gpu_leads_the_headline() {
    // The H200 run's BPTT window: 226,800 samples in 3.002 s, 585.0 J with 124.5 W idle (gpu_energy.csv).
    let (t, j, idle) = (3.002 / 226_800.0, 585.0 / 226_800.0, 124.5);
    let r = cost(&[
        "--measured-gpu-time-per-sample",
        &t.to_string(),
        "--measured-gpu-j-per-sample",
        &j.to_string(),
        "--measured-gpu-idle-w",
        &idle.to_string(),
        "--measured-gpu-name",
        "test GPU",
    ]);
    assert_eq!(r["gpu_measured"], true);
    assert_eq!(r["headline_set"], "measured");
    assert!(r["headline_gpu"].as_str().unwrap().starts_with("measured"), "{}", r["headline_gpu"]);
    let gpu_j = r["energy_j_per_sample_gpu"].as_f64().unwrap();
    assert!((gpu_j / j - 1.0).abs() < 1e-9, "{gpu_j} vs {j}");
    let sets = r["assumption_sets"].as_array().unwrap();
    let dynamic = sets.iter().find(|s| s["set"]["name"] == "measured-dynamic").unwrap();
    let above = j - idle * t;
    assert!((dynamic["energy_j_per_sample_gpu"].as_f64().unwrap() / above - 1.0).abs() < 1e-9);
    // The assumed V100 side is still shown, after the measurement.
    assert!(sets.iter().any(|s| s["set"]["name"] == "assumed"));
}

/// One case by hand: a 2→2→1 network on one PE, T = 1, no spikes (`--spike-rate 0`), default chip at 0.50 V /
/// 150 MHz, compiled-C trace loop. Cycles (TRM table, `models::spinnaker2::{model, recipes}`):
/// step: input 4 MACs × 7.07 = 28.28; neuron 2 × (8 VMUL + 7 VADD + 6 VLDR×2 + 6 VSTR×2 + loop 3 = 42) = 84;
/// surrogate 2 × (3 × 100 + 14) = 628; traces: 4 sources × 12 + 2 × 3 synapses × 28 = 216; 2 input packets × 20 =
/// 40 → 996.28. End: readout 2 × 7.07 = 14.14; learning signal (2 + 4) × 7.07 + 1 exp × 100 = 142.42; Adam 10 ×
/// (4 VLDR×2 + 8 + 5 + 14 + 14 + 3 VSTR×2 + 3 + gradient buffer 2 + 2 = 62) = 620; 1 packet × 20 → 796.56.
/// Energy: active 1792.84 cycles × 10 pJ; idle (2 ms − 1792.84 / 150 MHz) × 0.3 mW; floor 75 mW × 2 ms; one packet
/// × 10 pJ.
#[test]
fn one_case_by_hand() {
    let r = cost(&["--n-in", "2", "--n-rec", "2", "--n-out", "1", "--pes", "1", "--steps-t", "1", "--spike-rate", "0"]);
    let c = &r["chip_cost"];
    let step = 28.28 + 84.0 + 628.0 + 216.0 + 40.0;
    let end = 14.14 + 142.42 + 620.0 + 20.0;
    let close = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-12;
    assert!(close(c["cycles_per_step_max"].as_f64().unwrap(), step), "{}", c["cycles_per_step_max"]);
    assert!(close(c["cycles_end_of_sample"].as_f64().unwrap(), end), "{}", c["cycles_end_of_sample"]);
    let active = (step + end) * 10e-12;
    let idle = (2e-3 - (step + end) / 150e6) * 0.3e-3;
    let floor = 75e-3 * 2e-3;
    let packets = 10e-12;
    assert!(close(c["energy_dynamic_j"].as_f64().unwrap(), active + packets), "{}", c["energy_dynamic_j"]);
    assert!(close(c["energy_total_j"].as_f64().unwrap(), active + packets + idle + floor), "{}", c["energy_total_j"]);
    assert!(close(r["energy_j_per_sample_chip"].as_f64().unwrap(), active + packets + idle + floor));
    // The assumed GPU: V100 SXM2 at TDP 300 W × 0.4 ms.
    assert!(close(r["energy_j_per_sample_gpu"].as_f64().unwrap(), 300.0 * 0.4e-3));
}

/// Counts derived from the shape at the emulated run's own spike rate price the paper network like the emulated
/// counts: measured 5.3e-6 (dynamic) and 4.2e-7 (total) relative difference in energy — the same spikes in total,
/// spread evenly over the PEs instead of where they fell; the bound is 10× the larger.
#[test]
fn derived_counts_agree_with_emulated_ones() {
    let emu = cost(&[]);
    let rate = emu["spikes_per_sample"].as_f64().unwrap() / (100.0 * 120.0);
    let der = cost(&["--spike-rate", &rate.to_string()]);
    assert!(der["workload_source"].as_str().unwrap().starts_with("derived"));
    for k in ["energy_dynamic_j", "energy_total_j"] {
        let (a, b) = (emu["chip_cost"][k].as_f64().unwrap(), der["chip_cost"][k].as_f64().unwrap());
        assert!((a / b - 1.0).abs() < 5e-5, "{k}: emulated {a}, derived {b} ({:+.3e})", a / b - 1.0);
    }
}

/// A shape far too large for the chip (or to allocate) is one clear error, quickly, without allocating weights.
#[test]
fn huge_shapes_are_a_typed_error_not_an_abort() {
    for args in [["cost", "--n-rec", "100000"], ["cost", "--n-in", "1000000"]] {
        let t0 = std::time::Instant::now();
        let err = snnbench(&args).expect_err("cannot fit 12 PEs");
        let msg = format!("{err:#}");
        assert!(msg.contains("SRAM") && msg.contains("PE 0"), "{msg}");
        assert!(!msg.contains("18446744073709551615"), "{msg}");
        assert!(t0.elapsed().as_secs() < 60);
    }
}
