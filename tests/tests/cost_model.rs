//! `snnbench cost`: the JSON contract, the memory map against the paper's 680 KB, the real-time verdict, the
//! energy band, the typed SRAM error, consistency with the network's size, and a user chip file.

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
    let per_pe = r["memory_bytes_per_pe"].as_array().unwrap();
    assert_eq!(per_pe.len(), 12);
    let total = r["memory_bytes_total"].as_u64().unwrap();
    assert_eq!(per_pe.iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), total);
    // 680 KiB read: the full map is within 3 %; the learning state without the per-PE ε^v copies is HARDWARE.md's
    // 695,040 B layout (checked exactly in models' unit test).
    let vs = r["memory_vs_paper"].as_f64().unwrap();
    assert!(vs.abs() < 0.03, "memory vs paper {vs}");
    // The documented reason the full total is not within 2 %: the synaptic state (HARDWARE.md's layout) is, and the
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
